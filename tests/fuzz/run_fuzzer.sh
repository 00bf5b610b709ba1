#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEEDS SECONDS: runs a libFuzzer target for SECONDS on its seeds plus the corpus it has grown
# in earlier runs (beside the fuzzer, under fuzz-corpus/<name>). A finding fails the run; its input is kept in
# fuzz-findings/<name>/ for a regression test (regressions/<name>/ in the source tree).
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
name=$(basename "$fuzzer")
name=${name#fuzz_}
build=$(dirname "$(dirname "$fuzzer")")  # the build folder (fuzzers are in its bin/)
corpus=$build/fuzz-corpus/$name
findings=$build/fuzz-findings/$name
mkdir -p "$corpus" "$findings"
# -malloc_limit_mb: an input of a few kilobytes that makes a parser ask for 512 MB at once is a finding (sizes read
# from files must be bounded by what the file holds before anything is allocated). -timeout: so is a 20 s input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=20 \
  -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds"
