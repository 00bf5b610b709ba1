#!/usr/bin/env bash
# The main job's training throughput, two builds of qn side by side: runs tools/main.sh's `qn train` (the same
# command line, from tools/main_job_train.sh) for `updates` updates with each binary in turn, `rounds` times (old,
# new, old, new, ...), and prints the samples/s of qn train's last progress line for each, then the medians and
# their ratio. Needs Fashion-MNIST where tools/main.sh reads it (Debian's dataset-fashion-mnist).
# Usage: bash bench/main_job_compare.sh OLD_QN NEW_QN [updates] [rounds]
# An older build: git worktree add /tmp/old REV && (cd /tmp/old && bash tools/build.sh -DQN_CUDA=OFF --target qn)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/main_job_train.sh
if (($# < 2)); then
  echo "usage: bash bench/main_job_compare.sh OLD_QN NEW_QN [updates] [rounds]" >&2
  exit 2
fi
old=$1 new=$2 updates=${3:-300} rounds=${4:-3}
for qn in "$old" "$new"; do
  [[ -x "$qn" ]] || { echo "main_job_compare: $qn is not an executable" >&2; exit 2; }
done
[[ -d "$main_job_data" ]] || { echo "main_job_compare: $main_job_data not found (dataset-fashion-mnist)" >&2; exit 2; }

# samples QN: the samples/s of the last progress line of a run of `updates` updates; stops the script with qn's
# output when the run fails or prints no rate.
samples() {
  local dir log rate
  dir=$(mktemp -d)
  log=$dir/train.log
  if ! "$1" train "$main_job_data" "${main_job_task[@]}" "${main_job_train[@]}" --max-update "$updates" \
    --save-dir "$dir/run" >"$log" 2>&1; then
    tail -5 "$log" >&2
    echo "main_job_compare: $1 train failed" >&2
    exit 1
  fi
  rate=$(tr '\r' '\n' <"$log" | sed -n 's/^.*| \([0-9.]*\) samples\/s.*$/\1/p' | tail -1)
  rm -rf "$dir"
  [[ -n "$rate" ]] || { echo "main_job_compare: $1 train printed no samples/s" >&2; exit 1; }
  echo "$rate"
}

median() {
  printf '%s\n' "$@" | sort -g |
    awk '{a[NR] = $1} END {printf "%.0f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

old_runs=() new_runs=()
for ((r = 1; r <= rounds; ++r)); do
  rate=$(samples "$old")
  old_runs+=("$rate")
  rate=$(samples "$new")
  new_runs+=("$rate")
  echo "round $r: old ${old_runs[-1]} samples/s, new ${new_runs[-1]} samples/s"
done
old_median=$(median "${old_runs[@]}") new_median=$(median "${new_runs[@]}")
echo "median: old $old_median samples/s, new $new_median samples/s, new / old $(awk "BEGIN {printf \"%.2f\", $new_median / $old_median}")x"
