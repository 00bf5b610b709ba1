#!/usr/bin/env bash
# Runs bench_models and its PyTorch peer back to back (same machine, same minute) and prints each step's
# time ratio (ours / PyTorch: below 1 is faster). Usage: bash bench/models_compare.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ours=$("$build/bin/bench_models" --benchmark_format=json | /usr/bin/python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    print(b["name"].split("/")[0], b["real_time"], b.get("label", ""))')
echo "ours:"
echo "$ours"
peer=$(cd bench/peer && /usr/bin/python3 models_peer.py --threads "$(nproc)")
echo "$peer"
ratio() {  # ratio BENCHMARK PEER_LINE_PREFIX
  local mine theirs
  mine=$(awk -v n="$1" '$1 == n {print $2}' <<<"$ours")
  theirs=$(sed -n "s/^$2.*: *\([0-9.]*\) ms$/\1/p" <<<"$peer")
  /usr/bin/python3 -c "print(f'  $1: ours / PyTorch {float($mine) / float($theirs):.2f}x')"
}
ratio BM_EfficientNetB0Step "efficientnet_b0 step"
ratio BM_TransformerLMStep "transformer_lm step"
ratio BM_RobertaMlmStep "roberta mlm step"
