#!/usr/bin/env bash
# tools/fetch_data.sh offline (label data): the downloads it would make are rebuilt from the CI copy of the data sets,
# where each came from (a CIFAR-10 repository archive of loose JPEGs, WikiText-2's plain text, MNIST's mirror file,
# the files under their names upstream...). The script must then lay each data set out and derive it so that every
# file has the CI copy's checksum. A corrupted download must fail, naming the file, and leave the data set already in
# place untouched. The download step itself cannot be tested here (no network).
#   fetch_data_test.sh SOURCE_DIR WORK_DIR   (the CI copy: $QN_DATA, else SOURCE_DIR/../shared/data; exit 77,
#                                             skipped, without it)
set -euo pipefail
source_dir=$1 work=$2
data=${QN_DATA:-$source_dir/../shared/data}
if [[ ! -d "$data" ]]; then
  echo "fetch_data_test: data sets missing: no $data (QN_DATA names their folder); skipping"
  exit 77
fi
fail() {
  echo "fetch_data_test: $*" >&2
  exit 1
}
rm -rf "$work"
src=$work/sources
mkdir -p "$src"/{wikitext-2,ptb,glue/rte,glue/mrpc,mnist,cifar10-jpeg,imagenette-224,gpt2-bpe/roberta-base}

# The downloads, as their sources hold them.
for split in train valid test; do gzip -dc "$data/wikitext-2/$split.txt.gz" > "$src/wikitext-2/$split.txt"; done
cp "$data"/ptb/*.gz "$src/ptb/"
cp "$data/glue/rte/train.tsv" "$src/glue/rte/train_copy.tsv"
cp "$data/glue/rte/dev.tsv" "$data/glue/rte/test.tsv" "$src/glue/rte/"
cp "$data"/glue/mrpc/{train.tsv,dev.tsv,test.tsv,msr_paraphrase_README.htm} "$src/glue/mrpc/"
cp "$data/glue/mrpc/MSR-SSLA-license.htm" "$src/glue/mrpc/Microsoft Shared Source License.htm"
cp "$data"/mnist/*.gz "$src/mnist/"
# The mirror's training images come with another gzip wrapper than the CI copy's.
gzip -dc "$data/mnist/train-images-idx3-ubyte.gz" | gzip -1 > "$src/mnist/train-images-idx3-ubyte.gz"
mkdir -p "$work/repo/CIFAR-10-images-main"
tar xzf "$data/cifar10-jpeg/cifar10-jpeg.tar.gz" -C "$work/repo/CIFAR-10-images-main"
touch "$work/repo/CIFAR-10-images-main/README.md"
tar czf "$src/cifar10-jpeg/repository.tar.gz" -C "$work/repo" CIFAR-10-images-main
rm -rf "$work/repo"
mkdir -p "$work/repo/imagenette-main"
cp -r "$data/imagenette-224/train" "$data/imagenette-224/val" "$work/repo/imagenette-main/"
# A 351st image in one class (sorting last), which the layout must leave out.
cp "$data/imagenette-224/val/n01440764/$(ls "$data/imagenette-224/val/n01440764" | head -n 1)" \
  "$work/repo/imagenette-main/train/n01440764/zz_extra.JPEG"
tar czf "$src/imagenette-224/repository.tar.gz" -C "$work/repo" imagenette-main
rm -rf "$work/repo"
cp "$data/gpt2-bpe/encoder.json" "$data/gpt2-bpe/vocab.bpe" "$src/gpt2-bpe/"
cp "$data/gpt2-bpe/dict.txt" "$src/gpt2-bpe/gpt2.dict.txt"
cp "$data"/gpt2-bpe/roberta-base/* "$src/gpt2-bpe/roberta-base/"

# Every data set laid out and checked.
bash "$source_dir/tools/fetch_data.sh" --sources "$src" --dest "$work/data" > "$work/log" 2>&1 ||
  fail "the layout failed: $(cat "$work/log")"
for name in wikitext-2 ptb glue mnist cifar10-jpeg imagenette-224 gpt2-bpe; do
  grep -q "fetch_data: $name: checked" "$work/log" || fail "$name was not checked: $(cat "$work/log")"
done
[[ $(find "$work/data/imagenette-224/train/n01440764" -type f | wc -l) -eq 350 ]] || fail "not 350 images a class"
diff -r "$data/glue" "$work/data/glue" > /dev/null || fail "glue differs from the CI copy"

# A corrupted download fails, naming the file, and the checked copy stays.
echo "x" >> "$src/glue/rte/dev.tsv"
if bash "$source_dir/tools/fetch_data.sh" --sources "$src" --dest "$work/data" glue > "$work/log" 2>&1; then
  fail "a corrupted dev.tsv was accepted"
fi
grep -q "glue: glue/rte/dev.tsv does not have the expected sha256" "$work/log" || fail "unclear error: $(cat "$work/log")"
cmp -s "$data/glue/rte/dev.tsv" "$work/data/glue/rte/dev.tsv" || fail "the checked glue was replaced"
[[ -z "$(find "$work/data" -maxdepth 1 -name '.*' ! -name . ! -name ..)" ]] || fail "a temporary folder was left"
rm -rf "$work"
echo "fetch_data_test: every data set laid out with the CI copy's checksums; a corrupted download refused"
