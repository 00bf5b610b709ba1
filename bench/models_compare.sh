#!/usr/bin/env bash
# Runs each bench_models step and its PyTorch peer back to back, `rounds` times, alternating (this machine is
# shared: a neighbour's load lands on both sides of a pair), and prints each pair's time ratio (ours / PyTorch:
# below 1 is faster) and the median ratio per step. The peer runs in PyTorch's best 2-core setting,
# OMP_WAIT_POLICY=PASSIVE. Usage: bash bench/models_compare.sh [build dir] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}, $(nproc) threads, $rounds rounds"
summary=""
for pair in "BM_EfficientNetB0Step efficientnet_b0" "BM_TransformerLMStep transformer_lm" "BM_RobertaMlmStep roberta_mlm"; do
  read -r bench peer_key <<<"$pair"
  ratios=()
  for ((round = 1; round <= rounds; round++)); do
    ours=$("$build/bin/bench_models" --benchmark_filter="^$bench/" --benchmark_format=json |
      /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["benchmarks"][0]["real_time"])')
    theirs=$(cd bench/peer && OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 models_peer.py --threads "$(nproc)" \
      --only "$peer_key" | sed -n 's/^.*: *\([0-9.]*\) ms$/\1/p')
    ratio=$(/usr/bin/python3 -c "print(f'{$ours / $theirs:.2f}')")
    ratios+=("$ratio")
    printf '  %-24s round %d: ours %8.1f ms, PyTorch %8.1f ms, ratio %sx\n' "$bench" "$round" "$ours" "$theirs" "$ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
  summary+="  $bench: ours / PyTorch median ${median}x (${ratios[*]})"$'\n'
done
printf '%s' "$summary"
