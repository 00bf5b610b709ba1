#!/usr/bin/env bash
# Runs bench_models and its PyTorch peer back to back (same machine, same minute) and prints each step's
# time ratio (ours / PyTorch: below 1 is faster). Usage: bash bench/models_compare.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ours=$("$build/bin/bench_models" --benchmark_filter=EfficientNetB0Step --benchmark_format=json | /usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["benchmarks"][0]["real_time"])')
echo "ours: efficientnet_b0 step ${ours} ms"
peer=$(cd bench/peer && /usr/bin/python3 models_peer.py --threads "$(nproc)")
echo "$peer"
theirs=$(sed -n 's/^efficientnet_b0 step.*: *\([0-9.]*\) ms$/\1/p' <<<"$peer")
/usr/bin/python3 -c "print(f'  ours / PyTorch: {float($ours) / float($theirs):.2f}x')"
