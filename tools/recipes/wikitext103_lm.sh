#!/usr/bin/env bash
# The paper's Wikitext-103 language model (docs/MODELS.md, the language model; docs/METHOD.md, iPQ and the paper's results): train the 16-layer adaptive-input
# Transformer (247M parameters, 942 MiB) with Quant-Noise (p 0.05, blocks of 8), compress it with iPQ in three
# stages (FFN, embeddings, attention; transformer_lm_wiki103_ipq.yaml), and evaluate both with fairseq-eval-lm's
# settings (context window 2560).
#
# Expected: test perplexity 18.3 float; 20.7 after iPQ at 38 MB (x25), the paper's Table 1 with Quant-Noise.
# Hardware: the paper used 8 V100 GPUs (3 micro-batches of 3,072 tokens each, 73,728 tokens per update). One
# process here accumulates the same update (--update-freq 24). An update is ~1.2e14 FLOP (1.65 GFLOP per token),
# the 286,000 updates ~3.5e19: about 40 hours on 8 V100s, a day on one H100 at 40% MFU in bf16, and out of reach
# of a CPU (years on 2 cores; tools/reproduce_mini.sh is the CPU-sized miniature). qn trains on the CPU today;
# the GPU backend and data-parallel training are being built, and this script is what they will run.
# Data: bash tools/recipes/prepare_wikitext103.sh (fetches and checks WikiText-103, ~5 minutes).
# Usage: bash tools/recipes/wikitext103_lm.sh [DATA] [RUN_DIR]   (defaults data-bin/wikitext-103, runs/wikitext103)
set -euo pipefail
cd "$(dirname "$0")/../.."

data=${1:-data-bin/wikitext-103}
run=${2:-runs/wikitext103}
[[ -f $data/dict.txt ]] || { echo "error: no $data/dict.txt: run tools/recipes/prepare_wikitext103.sh first" >&2; exit 1; }
bash tools/build.sh --target qn
qn=build/bin/qn

# Training: fairseq's README command for transformer_lm_wiki103 with Quant-Noise. fairseq's cosine schedule
# (period 270,000 after 16,000 warm-up updates, t-mult 2, shrink 0.75) ends its first period at update
# 286,000, where the run stops: one cosine cycle from lr 1.0 down to 1e-4.
$qn train "$data" --task language_modeling --arch transformer_lm_wiki103 --seed 1 \
  --tokens-per-sample 3072 --max-tokens 3072 --update-freq 24 --sample-break-mode none \
  --dropout 0.2 --model-config '{"attention_dropout": 0.1, "activation_dropout": 0.1}' \
  --quant-noise-pq 0.05 --quant-noise-pq-block-size 8 \
  --optimizer nag --momentum 0.99 --clip-norm 0.1 --lr 1.0 --lr-scheduler cosine --warmup-updates 16000 \
  --warmup-init-lr 1e-7 --min-lr 1e-4 --max-update 286000 --save-dir "$run/train"

# iPQ: fairseq's README quantization command: 3 stages x 4,500 updates of fine-tuning (13,500), NAG with
# momentum 0.99, cosine lr 0.05, 2,944-token samples, no Quant-Noise; 8 GPUs x update-freq 3 -> 24 here.
$qn compress "$run/train/checkpoint_last.safetensors" "$data" --task language_modeling \
  --tokens-per-sample 2944 --max-tokens 2944 --update-freq 24 --sample-break-mode none \
  --quantization-config-path tools/recipes/transformer_lm_wiki103_ipq.yaml --max-update 13500 \
  --optimizer nag --momentum 0.99 --clip-norm 0.1 --lr 0.05 --lr-scheduler cosine --min-lr 1e-4 \
  --save-dir "$run/ipq" --out "$run/transformer_lm_wiki103_ipq.safetensors"

# Evaluation as fairseq-eval-lm in the README: complete sentences, 3,072 tokens per sample, 2,560 of context.
$qn eval "$data" --task language_modeling --gen-subset test --sample-break-mode complete \
  --tokens-per-sample 3072 --max-tokens 3072 --context-window 2560 \
  --path "$run/train/checkpoint_last.safetensors" --path "$run/transformer_lm_wiki103_ipq.safetensors"
