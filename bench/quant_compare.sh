#!/usr/bin/env bash
# Runs bench_quant and its PyTorch peer back to back (same machine, same minute) and prints k-means time
# ratios. Usage: bash bench/quant_compare.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ours=$("$build/bin/bench_quant" --benchmark_filter=KMeans --benchmark_format=json | /usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["benchmarks"][0]["real_time"])')
echo "ours: kmeans ${ours} ms"
/usr/bin/python3 bench/peer/quant_peer.py --threads "$(nproc)" | tee /tmp/qn_quant_peer.$$
while read -r line; do
  ms=$(sed -n 's/.*: *\([0-9.]*\) ms$/\1/p' <<<"$line")
  [ -n "$ms" ] && /usr/bin/python3 -c "print(f'  PyTorch / ours: {float($ms) / float($ours):.2f}x  ($line)')"
done < <(grep "kmeans" /tmp/qn_quant_peer.$$)
rm -f /tmp/qn_quant_peer.$$
