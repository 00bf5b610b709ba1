#!/usr/bin/env bash
# make_seeds.sh OUT SOURCE_DIR FUZZER...: the fuzzers' seed corpora under OUT/<name>/. Files the engine writes
# (checkpoints, compressed models, safetensors, token files) come from the fuzzers themselves
# (QN_FUZZ_WRITE_SEEDS); real files from ../shared/data and the recipes come cut small from make_seeds.py.
set -euo pipefail
out=$1 source=$2
shift 2
rm -rf "$out"
mkdir -p "$out"
for fuzzer in "$@"; do
  name=$(basename "$fuzzer")
  name=${name#fuzz_}
  mkdir -p "$out/$name"
  QN_FUZZ_WRITE_SEEDS="$out/$name" "$fuzzer" > /dev/null
done
data=${QN_DATA:-$source/../shared/data}  # the real data sets (tests/README.md)
/usr/bin/python3 "$(dirname "$0")/make_seeds.py" "$out" "$source" "$data"
for folder in "$out"/*/; do
  count=$(find "$folder" -type f | wc -l)
  if [ "$count" -eq 0 ]; then
    # Without ../shared/data (a user's clone) a fuzzer of real formats may have no seed and starts from nothing;
    # with it (CI), a missing seed is a mistake.
    if [ -d "$data" ]; then
      echo "make_seeds: no seed for $(basename "$folder")" >&2
      exit 1
    fi
    echo "$(basename "$folder"): no seed (no data sets at $data: bash tools/fetch_data.sh fetches them)"
    continue
  fi
  echo "$(basename "$folder"): $count seeds"
done
