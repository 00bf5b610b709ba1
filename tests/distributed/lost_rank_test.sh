#!/usr/bin/env bash
# A rank that dies ends the run: kill -9 rank 1 of a two-rank `qn train` and expect mpirun to exit non-zero
# within 60 seconds, naming the lost rank. Usage: lost_rank_test.sh QN MPIEXEC DATA
set -uo pipefail
qn=$1 mpiexec=$2 data=$3
[[ -d "$data" ]] || { echo "SKIP: no data at $data (apt-get install dataset-fashion-mnist)"; exit 77; }
work=$(mktemp -d)
trap 'kill -9 $launcher 2>/dev/null; rm -rf "$work"' EXIT

OMP_NUM_THREADS=1 "$mpiexec" -n 2 --oversubscribe "$qn" train "$data" --task image_classification \
  --arch efficientnet_tiny --batch-size 32 --max-update 100000 --save-dir "$work/run" --no-progress-bar \
  >"$work/out" 2>&1 &
launcher=$!

# Rank 1: the qn process whose environment says so.
victim=""
for ((i = 0; i < 600; i++)); do
  for pid in $(pgrep -f "$work/run"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$pid; fi
  done
  [[ -n "$victim" ]] && break
  sleep 0.1
done
[[ -n "$victim" ]] || { echo "FAIL: rank 1 never started"; cat "$work/out"; exit 1; }
sleep 2  # let both ranks get into training
kill -9 "$victim"
killed_at=$SECONDS

for ((i = 0; i < 600; i++)); do
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$launcher" 2>/dev/null; then
  echo "FAIL: the run still goes on 60 s after rank 1 was killed"
  exit 1
fi
wait "$launcher"
status=$?
echo "mpirun exited with $status after $((SECONDS - killed_at)) s"
[[ $status -ne 0 ]] || { echo "FAIL: exit status 0"; exit 1; }
grep -q "rank 1" "$work/out" || { echo "FAIL: no line names rank 1:"; cat "$work/out"; exit 1; }
grep "rank 1" "$work/out" | head -2
echo "PASS"
