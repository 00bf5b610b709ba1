#!/usr/bin/env bash
# Runs each bench_models step, its PyTorch peer (bench/peer/models_peer.py) and its floor (bench/step_floors.h) back
# to back, `rounds` times, round 1 of every step before round 2 (this machine is shared: a neighbour's load lands on
# all three of a step's runs), and prints per round each step's times and ratios, then their medians per step:
# ours / PyTorch (below 1 is faster) and ours / floor (1 is the floor). The peer runs at 1 thread and at every core
# with OMP_WAIT_POLICY=PASSIVE (set before the process starts), and the better of the two counts: either can be
# PyTorch's best. The main job's step (FashionMnist) has no peer, only its floor.
# Usage: bash bench/models_compare.sh [build dir] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
cores=$(nproc)

# ours BENCHMARK: its real_time in ms, and the OpenBLAS core its label names ("-" if none).
ours() {
  "$build/bin/bench_models" --benchmark_filter="^$1/" --benchmark_format=json | /usr/bin/python3 -c '
import json, sys
b = json.load(sys.stdin)["benchmarks"][0]
ms = b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
print(ms, b.get("label", "").replace("OpenBLAS core ", "") or "-")'
}

# peer KEY THREADS [VAR=VALUE...]: the peer step's time in ms.
peer() {
  env "${@:3}" /usr/bin/python3 bench/peer/models_peer.py --threads "$2" --only "$1" |
    sed -n 's/^.*: *\([0-9.]*\) ms$/\1/p'
}

ratio() { /usr/bin/python3 -c "print(f'{$1 / $2:.2f}')"; }
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{a[NR] = $1} END {printf "%.2f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# step: our benchmark, the peer's key (- for none), the floor benchmark.
steps=(
  "BM_TransformerLMStep transformer_lm BM_TransformerLMGemmFloor"
  "BM_RobertaMlmStep roberta_mlm BM_RobertaMlmGemmFloor"
  "BM_EfficientNetB0Step efficientnet_b0 BM_EfficientNetB0TrafficFloor"
  "BM_FashionMnistStep - BM_FashionMnistTrafficFloor"
)
declare -A vs_torch vs_floor  # each step's ratios, one per round
for ((round = 1; round <= rounds; round++)); do
  for step in "${steps[@]}"; do
    read -r bench key floor_bench <<< "$step"
    result=$(ours "$bench")
    read -r mine core <<< "$result"
    if ((round == 1)) && [[ "$step" == "${steps[0]}" ]]; then
      # The core bench_models runs with, from its label: qn info may show another (qn picks its own).
      echo "$(lscpu | sed -n 's/^Model name: *//p'), $cores cores, OpenBLAS core $core," \
        "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}, $rounds rounds"
    fi
    torch="PyTorch -" torch_ratio="-"
    if [[ "$key" != "-" ]]; then
      one=$(peer "$key" 1)
      all=$(peer "$key" "$cores" OMP_WAIT_POLICY=PASSIVE)
      best=$one threads=1
      awk -v a="$one" -v b="$all" 'BEGIN {exit !(b < a)}' && best=$all threads=$cores
      torch=$(printf 'PyTorch %8.1f ms (%d thr)' "$best" "$threads")
      torch_ratio=$(ratio "$mine" "$best")
      vs_torch[$bench]+="$torch_ratio "
    fi
    result=$(ours "$floor_bench")
    read -r floor _ <<< "$result"
    floor_ratio=$(ratio "$mine" "$floor")
    vs_floor[$bench]+="$floor_ratio "
    [[ "$torch_ratio" == - ]] || torch_ratio+=x
    printf '  round %d %-22s ours %8.1f ms, %-29s floor %8.1f ms, ours/PyTorch %6s, ours/floor %5sx\n' \
      "$round" "$bench" "$mine" "$torch," "$floor" "$torch_ratio" "$floor_ratio"
  done
done
for step in "${steps[@]}"; do
  read -r bench _ <<< "$step"
  torch_list=${vs_torch[$bench]:-} floor_list=${vs_floor[$bench]} torch_text=-
  # shellcheck disable=SC2086 # each list splits into its ratios
  [[ -z "$torch_list" ]] || torch_text="$(median $torch_list)x (${torch_list% })"
  # shellcheck disable=SC2086
  printf '  %-22s median ours/PyTorch %s, ours/floor %sx (%s)\n' "$bench" "$torch_text" "$(median $floor_list)" \
    "${floor_list% }"
done
