#!/usr/bin/env bash
# Crash safety: a short `qn train` run (a checkpoint after every update) is killed with SIGKILL and restarted, 20
# times in a row, at random moments from outside and, every other time, by itself inside a checkpoint write;
# then it runs to its end. Every
# restart must resume from a complete checkpoint (never go back, never fail to load) and the run must end with
# the same checkpoint, byte for byte, as an uninterrupted one. The kill times come from a fixed seed.
# Usage: kill_resume_test.sh QN DATA (fashion-MNIST's IDX folder; exit 77, a skip, without it)
set -euo pipefail
qn=$1 data=$2
if [[ ! -d $data ]]; then
  echo "no $data: skipped"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=(train "$data" --task image_classification --arch efficientnet_tiny --batch-size 16 --max-update 600
  --save-interval-updates 1 --no-progress-bar --num-workers 1 --threads 1)
"$qn" "${args[@]}" --save-dir "$work/whole" >"$work/whole.out" 2>&1

RANDOM=20261206
last=-1 mid_write=0
for ((kill = 1; kill <= 20; kill++)); do
  # Odd attempts: SIGKILL from outside after 0.5 to 2 s (past start-up, reading the data set, most of the
  # time). Even ones: the process kills itself inside its n-th checkpoint write, n from 1 to 40
  # (QN_FAULT_KILL_IN_WRITE, core/atomic_file.h), after the bytes and before the flush and rename.
  if ((kill % 2 == 0)); then
    QN_FAULT_KILL_IN_WRITE=$((1 + RANDOM % 40)) "$qn" "${args[@]}" --save-dir "$work/killed" >"$work/attempt.out" 2>&1 &
    pid=$!
  else
    "$qn" "${args[@]}" --save-dir "$work/killed" >"$work/attempt.out" 2>&1 &
    pid=$!
    sleep "$((RANDOM % 2)).$((5 + RANDOM % 5))"
    kill -9 "$pid" 2>/dev/null || true
  fi
  status=0
  { wait "$pid"; } 2>/dev/null || status=$?
  if ((status != 137 && status != 0)); then
    echo "attempt $kill failed on its own (exit $status):"
    cat "$work/attempt.out"
    exit 1
  fi
  if compgen -G "$work/killed/.checkpoint*.tmp.*" >/dev/null; then mid_write=$((mid_write + 1)); fi
  # Where this attempt started: a checkpoint's update, never before the last attempt's; from scratch only
  # when none was written yet; or killed in start-up before it said.
  at=$(sed -n 's/^resumed from .* at update \([0-9]*\) .*/\1/p' "$work/attempt.out")
  if [[ -n $at ]]; then
    if ((at < last)); then
      echo "attempt $kill resumed at update $at, before the $last of an earlier attempt"
      exit 1
    fi
    last=$at
    echo "attempt $kill: resumed at update $at, exit $status"
  elif grep -q "starting from scratch" "$work/attempt.out"; then
    if ((last > 0)); then
      echo "attempt $kill started from scratch though update $last had been resumed from"
      exit 1
    fi
    echo "attempt $kill: started from scratch, exit $status"
  else
    echo "attempt $kill: killed in start-up"
  fi
done
"$qn" "${args[@]}" --save-dir "$work/killed" >"$work/final.out" 2>&1 || {
  echo "the final run failed:"
  cat "$work/final.out"
  exit 1
}
echo "$mid_write of 20 kills interrupted a checkpoint write"
if ! cmp "$work/whole/checkpoint_last.safetensors" "$work/killed/checkpoint_last.safetensors"; then
  echo "the killed and restarted run ended with a different checkpoint than the uninterrupted one"
  exit 1
fi
echo "the checkpoints are the same, byte for byte"
