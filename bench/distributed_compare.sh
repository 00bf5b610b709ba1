#!/usr/bin/env bash
# Scaling of data-parallel training on this machine: the Transformer LM step of bench_distributed (batch 8 x 256
# per process, one thread per process) alone and under `mpirun -np 2`, and PyTorch's DistributedDataParallel
# (gloo) the same way (bench/peer/ddp_peer.py), alternating for `rounds` rounds (the machine is shared). Also two
# independent single processes side by side: what two processes cost each other with no communication at all
# (memory bandwidth, caches), the ceiling for the data-parallel step here. Prints each round's step times and the
# scaling efficiency, step(1 process) / step(2 processes) (1.0 is perfect: twice the tokens in the same time).
# Usage: bash bench/distributed_compare.sh [build dir] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}, $(nproc) cores, $rounds rounds, $(mpirun --version | head -1)"
ours() {  # ms per step of rank 0
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["benchmarks"][0]["real_time"])'
}
step="$build/bin/bench_distributed --benchmark_filter=TransformerLM --benchmark_format=json"
peer() { (cd bench/peer && /usr/bin/python3 ddp_peer.py --threads 1 --processes "$1" | sed -n 's/^.*: *\([0-9.]*\) ms$/\1/p'); }
for ((round = 1; round <= rounds; round++)); do
  one=$(QN_NUM_THREADS=1 $step | ours)
  two=$(mpirun -np 2 -x QN_NUM_THREADS=1 $step | ours)
  # Both processes as groups of one (the launcher's rank variables removed): the same binding, no collectives.
  apart=$(mpirun -np 2 -x QN_NUM_THREADS=1 bash -c \
    'unset OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_SIZE; exec "$@" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)[\"benchmarks\"][0][\"real_time\"])"' \
    _ $step | sort -n | tail -1)
  peer_one=$(peer 1)
  peer_two=$(peer 2)
  line=$(/usr/bin/python3 -c "print(f'ours {$one:.0f} / {$two:.0f} ms (apart {$apart:.0f}): efficiency {$one / $two:.2f}; PyTorch {$peer_one:.0f} / {$peer_two:.0f} ms: efficiency {$peer_one / $peer_two:.2f}; 2-process step ours / PyTorch {$two / $peer_two:.2f}x')")
  echo "  round $round: $line"
done
