#!/usr/bin/env bash
# The main job: set up, build qn, then the paper's pipeline in miniature on Fashion-MNIST (Debian's
# dataset-fashion-mnist): train a small EfficientNet with Quant-Noise, compress it with iPQ (three stages with
# fine-tuning), and evaluate both on the test set, printing size and accuracy side by side. 8 min 12 s on a fresh
# clone with the build, on 2 cores (measured: the README). The run is written to runs/fashion_mnist/
# (train_log.jsonl, checkpoints, the compressed model); QN_RUN_DIR moves it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --main
# The job trains on the CPU: the CUDA kernels (minutes of nvcc on 2 cores) are left out of this build.
bash tools/build.sh -DQN_CUDA=OFF --target qn

source tools/main_job_train.sh  # main_job_data, main_job_task, main_job_train: the model and its training
data=$main_job_data
run=${QN_RUN_DIR:-runs/fashion_mnist}
rm -rf "$run"
task=("${main_job_task[@]}")

# Five epochs (4,690 updates of 64): three reached 87-88%.
build/bin/qn train "$data" "${task[@]}" "${main_job_train[@]}" --max-update 4690 --save-dir "$run"

# iPQ: the three stages of tools/recipes/efficientnet_fashion_mnist_ipq.yaml, 300 updates of fine-tuning each
# under one cosine schedule from lr 0.002, so that the last stage ends at a small rate (a fixed lr 0.001 over
# 1200 updates lost 1.9 points; this loses 1.1).
build/bin/qn compress "$run/checkpoint_last.safetensors" "$data" "${task[@]}" \
  --quantization-config-path tools/recipes/efficientnet_fashion_mnist_ipq.yaml --max-update 900 \
  --lr 0.002 --lr-scheduler cosine --min-lr 1e-5 --out "$run/efficientnet_ipq.safetensors"

echo
build/bin/qn eval "$data" "${task[@]}" --gen-subset test \
  --path "$run/checkpoint_last.safetensors" --path "$run/efficientnet_ipq.safetensors"
