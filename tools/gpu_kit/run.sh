#!/usr/bin/env bash
# The GPU check (docs/GPU.md), run from the bundle tools/gpu_bundle.sh makes:
#   bash gpu-bundle/run.sh OUT_DIR
# In order, each step under its own time limit so that a hang costs that step only:
#   device   nvidia-smi, `qn info`, and which CUDA libraries were found and loaded          15 s
#   tests    every test of cuda_test (label cuda), JUnit XML and the failures' output      70 s
#   data     a small IDX set of 28x28 images (make_idx.py; no data set travels)            10 s
#   train    `qn train` of the main job's EfficientNet with Quant-Noise on the GPU          35 s
#   compress `qn compress` through the three iPQ stages on the GPU                         35 s
#   eval     `qn eval` of both models on the GPU                                            15 s
#   eval_cpu the same on the CPU: the accuracies must agree                                 10 s
#   bench    bench_gpu: 8192^3 products (8 s), then each model's training step in f32 and
#            bf16, one run each: LM 8 + 8, RoBERTa 6 + 6, EfficientNet-B3 6 + 6 s           48 s
#   peer     the PyTorch peer on the same shapes                                           45 s
# The limits add up to 283 s, each cut to what is left of the run's 300 s, and each command gets 1 s between
# SIGTERM and SIGKILL; the short commands between steps have 5 s each. So the run takes at most about 5 minutes.
# OUT_DIR/summary.md gains a section after every step, so a run cut off from outside still reports what it did; each
# step's output is OUT_DIR/<step>.log.
# Without a GPU every GPU step says "no GPU" and the run ends with status 0; with one, the status is 1 if any step
# failed.
#
# Environment: CUDA_VISIBLE_DEVICES (-1 or empty: run as if there were no GPU), QN_CUDA_LIB_DIRS (folders to search
# first for CUDA's libraries), QN_KIT_DEVICE (the device for the training steps: cuda by default; sim rehearses them
# on the simulated device without a GPU), QN_KIT_UPDATES (300), QN_KIT_BENCH_SECONDS (each benchmark's minimum
# time, 2), QN_GPU_PEAK_TFLOPS (dense bf16 peak for the MFU, 989: an H100 SXM).
set -uo pipefail

kit=$(cd "$(dirname "$0")" && pwd)
if (($# != 1)); then
  echo "usage: bash $0 OUT_DIR" >&2
  exit 2
fi
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
summary=$out/summary.md
device=${QN_KIT_DEVICE:-cuda}
updates=${QN_KIT_UPDATES:-300}
bench_seconds=${QN_KIT_BENCH_SECONDS:-2}
qn=$kit/bin/qn
failed=()
deadline=$((SECONDS + 300))  # every step's limit is cut to what is left of this
quick() { timeout --kill-after=1 5 "$@"; }  # the short commands between steps: 5 s at most each

# note TEXT...: a line of the summary.
note() { printf '%s\n' "$*" >> "$summary"; }

# run_step NAME LIMIT COMMAND...: runs COMMAND under LIMIT seconds, or what is left of the run's 300, its output in
# OUT_DIR/NAME.log; sets step_status (0, the command's status, or 124 when it ran out of time) and step_seconds.
run_step() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  ((limit > deadline - SECONDS)) && limit=$((deadline - SECONDS))
  if ((limit <= 0)); then
    echo "[not run: the run's 300 s are spent]" > "$out/$name.log"
    step_status=124 step_seconds=0
    return
  fi
  timeout --kill-after=1 "$limit" "$@" > "$out/$name.log" 2>&1
  step_status=$?
  step_seconds=$((SECONDS - start))
  if ((step_status == 124 || step_status == 137)); then
    echo "[time limit of ${limit} s reached]" >> "$out/$name.log"
    step_status=124
  fi
}

# report NAME: the summary line for the step just run; a failure is remembered for the exit status.
report() {
  local name=$1
  if ((step_status == 0)); then
    note "- **$name**: ok (${step_seconds} s)"
  elif ((step_status == 124)); then
    note "- **$name**: FAILED, out of time (${step_seconds} s); see $name.log"
    failed+=("$name")
  else
    note "- **$name**: FAILED with status $step_status (${step_seconds} s); see $name.log:"
    note '```'
    tail -n 15 "$out/$name.log" >> "$summary"
    note '```'
    failed+=("$name")
  fi
}

{
  echo "# quantnoise GPU check"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname); bundle: $(head -n 1 "$kit/MANIFEST.txt" 2> /dev/null)"
  echo
} > "$summary"

# --- CUDA's libraries: each one the programs need, from the first folder that has it. -------------------------
search=()
[[ -n "${QN_CUDA_LIB_DIRS:-}" ]] && IFS=: read -r -a search <<< "$QN_CUDA_LIB_DIRS"
while IFS= read -r folder; do search+=("$folder"); done < <(
  quick python3 -c 'import nvidia, glob; [print(d) for p in nvidia.__path__ for d in sorted(glob.glob(p + "/*/lib"))]' \
    2> /dev/null)
search+=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib)
library_path=()
note "## device"
note
for soname in $(cat "$kit/cuda-libs.txt"); do
  found=""
  for folder in "${search[@]}"; do
    if [[ -e "$folder/$soname" ]]; then
      found=$folder
      break
    fi
  done
  if [[ -z "$found" ]] && ldconfig -p 2> /dev/null | grep -q "$soname "; then found="(the system's)"; fi
  if [[ -z "$found" ]]; then
    note "- $soname: NOT FOUND (looked in ${search[*]}; set QN_CUDA_LIB_DIRS)"
    failed+=("libraries")
  else
    note "- $soname: $found"
    [[ "$found" == /* && " ${library_path[*]} " != *" $found "* ]] && library_path+=("$found")
  fi
done
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(IFS=:; echo "${library_path[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
note "- LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

# --- device ------------------------------------------------------------------------------------------------------
run_step device 15 bash -c "nvidia-smi; echo; '$qn' info; echo; ldd '$qn'"
gpu_name=$(quick nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2> /dev/null | head -n 1)
if grep -q "^  GPU 0:" "$out/device.log"; then
  has_gpu=1
  note "- GPU: $gpu_name; qn sees: $(grep '^  GPU 0:' "$out/device.log" | sed 's/^  GPU 0: *//')"
elif [[ -n "$gpu_name" && "${CUDA_VISIBLE_DEVICES-all}" != "" && "${CUDA_VISIBLE_DEVICES-all}" != "-1" ]]; then
  has_gpu=0
  note "- FAILED: nvidia-smi lists $gpu_name, but qn sees no GPU: $(grep '^  GPUs:' "$out/device.log")"
  failed+=("device")
else
  has_gpu=0
  note "- no GPU: $(grep "^  GPUs:" "$out/device.log" | sed "s/^  GPUs: *//" || echo "qn info did not run")"
fi
grep -E '^  (CUDA|cuDNN|OpenBLAS): ' "$out/device.log" | sed 's/^  /- /' >> "$summary"
report device
note

# --- tests -------------------------------------------------------------------------------------------------------
note "## cuda tests"
note
run_step tests 70 python3 "$kit/scripts/run_gtest.py" "$kit/bin/cuda_test" --xml "$out/cuda_test.xml" \
  --log "$out/cuda_test.log" --json "$out/cuda_test.json" --timeout 65 --test-timeout 40
if ((has_gpu)); then
  report tests
  head -n 1 "$out/tests.log" | sed 's/^/- /' >> "$summary"
  grep '^  FAILED' "$out/tests.log" | sed 's/^  /- /' >> "$summary"
else
  note "- no GPU: $(head -n 1 "$out/tests.log")"
  ((step_status == 0 || step_status == 1)) || report tests  # the runner itself failed
fi
note

# --- train, compress, eval -----------------------------------------------------------------------------------------
note "## training on $device"
note
if ((has_gpu)) || [[ "$device" != cuda* ]]; then
  data=$out/data
  run=$out/run
  rm -rf "$run"
  task=(--task image_classification --batch-size 64 --num-workers 1)
  run_step data 10 python3 "$kit/scripts/make_idx.py" "$data"
  report data
  run_step train 35 "$qn" train "$data" "${task[@]}" --device "$device" --arch efficientnet_tiny \
    --model-config '{"width": 1.0, "stem_stride": 2, "drop_connect": 0.0}' --dropout 0 \
    --quant-noise-pq 0.05 --quant-noise-pq-block-size 8 --optimizer adam --lr 0.004 --lr-scheduler cosine \
    --warmup-updates $((updates / 10)) --min-lr 1e-5 --max-update "$updates" --save-dir "$run"
  report train
  run_step compress 35 "$qn" compress "$run/checkpoint_last.safetensors" "$data" "${task[@]}" --device "$device" \
    --quantization-config-path "$kit/recipes/efficientnet_fashion_mnist_ipq.yaml" --max-update "$((3 * (updates / 15 > 0 ? updates / 15 : 1)))" \
    --lr 0.002 --lr-scheduler cosine --min-lr 1e-5 --out "$run/efficientnet_ipq.safetensors"
  report compress
  models=(--gen-subset test --path "$run/checkpoint_last.safetensors" --path "$run/efficientnet_ipq.safetensors")
  run_step eval 15 "$qn" eval "$data" "${task[@]}" --device "$device" --json "${models[@]}"
  report eval
  run_step eval_cpu 10 "$qn" eval "$data" "${task[@]}" --device cpu --json "${models[@]}"
  report eval_cpu
  quick python3 "$kit/scripts/summarize.py" training "$out" --updates "$updates" >> "$summary" || failed+=("accuracy")
else
  note "- no GPU"
fi
note

# --- bench, peer ---------------------------------------------------------------------------------------------------
note "## benchmarks"
note
if ((has_gpu)); then
  # One run a family, each with its share of the step's 50 s, so that a slow one leaves the others' results.
  # The products only at 8192^3, 0.5 s each: hundreds of them.
  run_step bench_Matmul 8 "$kit/bin/bench_gpu" --benchmark_filter='BM_GpuMatmul/./8192' --benchmark_min_time=0.5 \
    --benchmark_out="$out/bench_Matmul.json" --benchmark_out_format=json
  report bench_Matmul
  # Each model step in f32 (0) and bf16 (1) on its own, so that a slow one leaves the others' results.
  for run in LmStep/0:8 LmStep/1:8 RobertaStep/0:6 RobertaStep/1:6 EfficientNetB3Step/0:6 EfficientNetB3Step/1:6; do
    benchmark=${run%:*}                          # LmStep/0
    name=bench_${benchmark%/*}_${benchmark#*/}    # bench_LmStep_0
    run_step "$name" "${run#*:}" "$kit/bin/bench_gpu" --benchmark_filter="BM_Gpu$benchmark/" \
      --benchmark_min_time="$bench_seconds" --benchmark_out="$out/$name.json" --benchmark_out_format=json
    report "$name"
  done
  run_step peer 45 python3 "$kit/peer/gpu_peer.py" --min-time "$bench_seconds" --matmul-sizes 8192 \
    --matmul-min-time 0.5 --json "$out/peer.json"
  report peer
  quick python3 "$kit/scripts/summarize.py" bench "$out" >> "$summary" || failed+=("summary")
else
  note "- no GPU"
fi
note

if ((${#failed[@]})); then
  note "**FAILED: ${failed[*]}**"
  exit 1
fi
note "**All steps passed.**"
