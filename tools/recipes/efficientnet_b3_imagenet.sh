#!/usr/bin/env bash
# EfficientNet-B3 on ImageNet (docs/MODELS.md, EfficientNet; docs/METHOD.md, block sizes and stages; the paper's results): train it at 300x300 with Quant-Noise (p 0.1, blocks
# of 4), compress it with iPQ in three stages from input to output (efficientnet_b3_ipq.yaml) with fine-tuning,
# and evaluate both on the 50,000 validation images.
#
# Expected: 81.5% top-1 float (the paper's re-implementation; the official B3 reaches 81.9%) and 80.0% after iPQ
# with Quant-Noise at 3.3 MB (x14), the paper's Table 1. efficientnet_b3_ipq.yaml gives 3.67 MiB (x12.7); the
# paper's EfficientNet block sizes are not published (docs/METHOD.md, block sizes and stages and published sizes).
# The paper's training hyper-parameters are not published either (its vision code was not released); this is
# EfficientNet's own recipe (RMSProp with decay 0.9, momentum 0.9 and epsilon 1e-3, lr 0.016 per 256 images,
# weight decay 1e-5, 350 epochs, AutoAugment, dropout 0.3, drop-connect 0.2) with a cosine decay after 5 warm-up
# epochs in place of its 0.97 step every 2.4 epochs. The iPQ fine-tuning follows kill-the-bits' global stage
# (SGD, lr 0.01, momentum 0.9, weight decay 1e-4).
# Hardware: 350 epochs are 448M training images at ~11 GFLOP each (~5e18 FLOP), bound by depthwise convolutions
# and BatchNorm rather than FLOPs: about 4 days on one H100-class GPU at ~1,300 images/s, proportionally less on
# 8. On 2 CPU cores (~25 images/s at this size) it is out of reach: tools/reproduce_mini.sh's CIFAR-10 run is the
# CPU-sized miniature. qn trains on the CPU today; the GPU backend and data-parallel training are being built,
# and this script is what they will run.
# Data: bash tools/recipes/prepare_imagenet.sh SRC (ImageNet has no open download; see that script).
# Usage: bash tools/recipes/efficientnet_b3_imagenet.sh [DATA] [RUN_DIR] (defaults data-bin/imagenet, runs/effnet_b3)
set -euo pipefail
cd "$(dirname "$0")/../.."

data=${1:-data-bin/imagenet}
run=${2:-runs/effnet_b3}
[[ -d $data/train && -d $data/val ]] || {
  echo "error: no $data/train and $data/val: run tools/recipes/prepare_imagenet.sh first" >&2
  exit 1
}
bash tools/build.sh --target qn
qn=build/bin/qn
task=("$data" --task image_classification --batch-size 256 --num-workers 8)
epoch=5005  # updates per epoch: 1,281,167 images in batches of 256

$qn train "${task[@]}" --arch efficientnet_b3 --augment autoaugment \
  --model-config '{"drop_connect": 0.2}' --dropout 0.3 --quant-noise-pq 0.1 --quant-noise-pq-block-size 4 \
  --optimizer rmsprop --rmsprop-alpha 0.9 --rmsprop-eps 1e-3 --momentum 0.9 --weight-decay 1e-5 --lr 0.016 \
  --lr-scheduler cosine --warmup-updates $((5 * epoch)) --min-lr 1e-5 --max-update $((350 * epoch)) \
  --save-interval-updates "$epoch" --seed 1 --save-dir "$run/train"

# iPQ: three stages of two epochs' fine-tuning each.
$qn compress "$run/train/checkpoint_last.safetensors" "${task[@]}" \
  --quantization-config-path tools/recipes/efficientnet_b3_ipq.yaml --max-update $((6 * epoch)) \
  --optimizer sgd --momentum 0.9 --weight-decay 1e-4 --lr 0.01 --lr-scheduler cosine --save-dir "$run/ipq" \
  --out "$run/efficientnet_b3_ipq.safetensors"

$qn eval "${task[@]}" --gen-subset valid \
  --path "$run/train/checkpoint_last.safetensors" --path "$run/efficientnet_b3_ipq.safetensors"
