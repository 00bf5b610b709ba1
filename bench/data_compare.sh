#!/usr/bin/env bash
# Runs the image input pipeline benchmark and its torchvision peer back to back for 1 and 2 workers, `rounds`
# times, alternating (this machine is shared), and prints each pair's throughput ratio (ours / torchvision:
# above 1 is faster) and the median per worker count. Usage: bash bench/data_compare.sh [build dir] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
echo "$(nproc) cores, $rounds rounds, Imagenette val (224x224 JPEGs), batch 64"
summary=""
for workers in 1 2; do
  ratios=()
  for ((round = 1; round <= rounds; round++)); do
    ours=$("$build/bin/bench_data" --benchmark_filter="^BM_ImagenetteTrainPipeline/workers:$workers/" \
      --benchmark_format=json |
      /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["benchmarks"][0]["items_per_second"])')
    theirs=$(cd bench/peer && /usr/bin/python3 data_peer.py --threads 1 --workers "$workers" |
      sed -n 's/^.*: *\([0-9.]*\) images\/s$/\1/p')
    ratio=$(/usr/bin/python3 -c "print(f'{$ours / $theirs:.2f}')")
    ratios+=("$ratio")
    printf '  workers %d round %d: ours %7.0f images/s, torchvision %7.0f images/s, ratio %sx\n' "$workers" "$round" \
      "$ours" "$theirs" "$ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
  summary+="  workers $workers: ours / torchvision median ${median}x (${ratios[*]})"$'\n'
done
printf '%s' "$summary"
