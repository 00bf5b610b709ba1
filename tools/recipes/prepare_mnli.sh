#!/usr/bin/env bash
# GLUE MNLI and RoBERTa-base for tools/recipes/roberta_mnli.sh, into DEST (default data-bin/mnli):
#   DEST/mnli/{train,dev,test}.tsv  GLUE's MNLI (dev = dev_matched, test = test_matched), from GLUE's canonical
#                                   archive; the example counts checked (392,702 / 9,815 / 9,796);
#   DEST/bpe/                       GPT-2 BPE (encoder.json, vocab.bpe) and fairseq's RoBERTa dict.txt, from
#                                   ../shared/data/gpt2-bpe when present, else from fairseq's host;
#   DEST/roberta_base.safetensors   Hugging Face's roberta-base weights renamed by `qn convert`, which checks
#                                   every name and shape.
# Needs internet (~600 MiB); a few minutes.
# Usage: bash tools/recipes/prepare_mnli.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/recipes/fetch.sh

dest=${1:-data-bin/mnli}
raw=${QN_DOWNLOADS:-downloads}
need_packages curl unzip
[[ -x build/bin/qn ]] || bash tools/build.sh --target qn
mkdir -p "$raw" "$dest/mnli" "$dest/bpe"

fetch "$raw/MNLI.zip" https://dl.fbaipublicfiles.com/glue/data/MNLI.zip
unzip -q -o "$raw/MNLI.zip" -d "$raw" || die "$raw/MNLI.zip is not a readable zip"
# One header line above the examples.
expect_lines "$raw/MNLI/train.tsv" 392703
expect_lines "$raw/MNLI/dev_matched.tsv" 9816
expect_lines "$raw/MNLI/test_matched.tsv" 9797
cp "$raw/MNLI/train.tsv" "$dest/mnli/train.tsv"
cp "$raw/MNLI/dev_matched.tsv" "$dest/mnli/dev.tsv"
cp "$raw/MNLI/test_matched.tsv" "$dest/mnli/test.tsv"

shared_bpe=${QN_SHARED_DATA:-../shared/data}/gpt2-bpe
for file in encoder.json vocab.bpe dict.txt; do
  if [[ -s $shared_bpe/$file ]]; then
    cp "$shared_bpe/$file" "$dest/bpe/$file"
  else
    fetch "$dest/bpe/$file" "https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe/$file"
  fi
done
expect_lines "$dest/bpe/dict.txt" 50260

fetch "$raw/roberta-base.safetensors" https://huggingface.co/FacebookAI/roberta-base/resolve/main/model.safetensors
build/bin/qn convert --from hf-roberta "$raw/roberta-base.safetensors" "$dest/roberta_base.safetensors"
echo "MNLI and RoBERTa-base are ready in $dest"
