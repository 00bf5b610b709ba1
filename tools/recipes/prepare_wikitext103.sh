#!/usr/bin/env bash
# WikiText-103 (Merity et al. 2016, "wikitext-103-v1", tokenized) for tools/recipes/wikitext103_lm.sh: downloads
# the archive from its canonical host, checks the three files' line counts, and binarizes them with
# `qn preprocess` into DEST (default data-bin/wikitext-103), checking the 267,744-symbol dictionary of docs/MODELS.md.
# Needs internet (about 180 MiB) and ~2 GiB of disk; about 5 minutes on 2 cores.
# Usage: bash tools/recipes/prepare_wikitext103.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/recipes/fetch.sh

dest=${1:-data-bin/wikitext-103}
raw=${QN_DOWNLOADS:-downloads}
need_packages curl unzip
[[ -x build/bin/qn ]] || bash tools/build.sh --target qn
mkdir -p "$raw"
fetch "$raw/wikitext-103-v1.zip" https://wikitext.smerity.com/wikitext-103-v1.zip \
  https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip
unzip -q -o "$raw/wikitext-103-v1.zip" -d "$raw" || die "$raw/wikitext-103-v1.zip is not a readable zip"
text=$raw/wikitext-103
expect_lines "$text/wiki.train.tokens" 1801350
expect_lines "$text/wiki.valid.tokens" 3760
expect_lines "$text/wiki.test.tokens" 4358

# qn preprocess writes into a fresh folder and removes it if it fails; the check below keeps a wrong one out.
rm -rf "$dest.tmp"
build/bin/qn preprocess --only-source --trainpref "$text/wiki.train.tokens" --validpref "$text/wiki.valid.tokens" \
  --testpref "$text/wiki.test.tokens" --destdir "$dest.tmp" | tee "$raw/wikitext-103.preprocess.log"
expect_symbols "$raw/wikitext-103.preprocess.log" 267744
grep -q "^test: 4358 lines, 245569 tokens" "$raw/wikitext-103.preprocess.log" || die "the test split is not 245,569 tokens"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "WikiText-103 is ready in $dest"
