#!/usr/bin/env bash
# A measured miniature of the paper's Table 1 on real data (../shared/data), on 2 cores in under 2 hours:
#   lm       a 2-layer Transformer LM (d 128, adaptive input and softmax) on WikiText-2, test perplexity
#            (fairseq-eval-lm's context window);
#   cifar10  efficientnet_tiny on CIFAR-10 (the JPEG tarball), top-1 on the 10,000 test images;
#   rte      a 4-layer RoBERTa (d 128) pre-trained with MLM on WikiText-2 in GPT-2 BPE, fine-tuned on GLUE RTE,
#            dev accuracy.
# Each task trains three models: without Quant-Noise, with Quant-Noise for iPQ (proxy blocks, p 0.1) and with
# scalar int4 Quant-Noise (p 0.1). From them `qn compress` makes the rows float, int8, int4, iPQ and iPQ & int8:
# without Quant-Noise all from the first model; with it int8/int4 from the scalar-noise model and iPQ,
# iPQ & int8 from the iPQ-noise model (the paper trains each row with its own noise). Every file is evaluated
# by `qn eval --json`. The table goes to docs/RESULTS.md with these commands, the plot to docs/mini_table1.svg.
#
# QN_MINI_SCALE (default 1) multiplies every update count (warm-ups included): 0.01 is a smoke run of a few minutes,
# whose report goes to $QN_RUN_DIR/RESULTS.md rather than docs/. QN_MINI_TASKS (default "lm cifar10 rte") picks the
# tasks to run; the rows and minutes of tasks run earlier into the same QN_RUN_DIR stay in the report, so the table
# can be measured one task at a time (the report lists each task's minutes and their sum). An interrupted run
# resumes: qn train picks up each model from its last checkpoint in QN_RUN_DIR (a task's minutes are then those
# of its last run only, so a table meant to show the time is measured without interruption).
# QN_RUN_DIR (default runs/mini) holds the runs; QN_DATA (default ../shared/data; QN_SHARED_DATA as before) the data sets.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --mini
bash tools/build.sh -DQN_CUDA=OFF --target qn  # CPU runs: no CUDA kernels to compile

data=${QN_DATA:-${QN_SHARED_DATA:-../shared/data}}
for set in wikitext-2 cifar10-jpeg glue gpt2-bpe; do
  if [[ ! -d "$data/$set" ]]; then
    echo "reproduce_mini: data set '$set' missing: no $data/$set; fetch it with: bash tools/fetch_data.sh $set" >&2
    exit 1
  fi
done
run=${QN_RUN_DIR:-runs/mini}
scale=${QN_MINI_SCALE:-1}
tasks=${QN_MINI_TASKS:-lm cifar10 rte}
qn=build/bin/qn
mkdir -p "$run"
results="$run/results.tsv"  # task, variant, row, size MiB, ratio, metric
minutes="$run/minutes.tsv"  # task, scale, minutes
touch "$results" "$minutes"
started=$(date +%s)
report=docs
if [[ "$scale" != 1 ]]; then report=$run; fi

wanted() { [[ " $tasks " == *" $1 "* ]]; }

# forget TASK: drops the task's earlier rows and minutes before it runs again.
forget() {
  local file
  for file in "$results" "$minutes"; do
    awk -F '\t' -v task="$1" '$1 != task' "$file" >"$file.tmp"
    mv "$file.tmp" "$file"
  done
}

# finish TASK SINCE: records the task's minutes (from the epoch second SINCE).
finish() { printf '%s\t%s\t%d\n' "$1" "$scale" $((($(date +%s) - $2 + 30) / 60)) >>"$minutes"; }

updates() { awk -v n="$1" -v s="$scale" 'BEGIN { u = int(n * s); print (u < 3 ? 3 : u) }'; }
say() { printf '\n== %s (%d min)\n' "$*" $((($(date +%s) - started) / 60)); }

# train TASK_ARGS NAME UPDATES ARGS...: one training run into $run/NAME.
train() {
  local task_args=$1 name=$2 max_update=$3
  shift 3
  say "train $name"
  # shellcheck disable=SC2086
  $qn train $task_args --max-update "$(updates "$max_update")" --save-dir "$run/$name" --no-progress-bar "$@"
}

# row TASK VARIANT ROW FILE: evaluates FILE on the task's test split ($eval_args) and appends a line to results.tsv.
row() {
  local task=$1 variant=$2 label=$3 file=$4
  # shellcheck disable=SC2086
  $qn eval $eval_args --path "$file" --json >"$file.json"
  /usr/bin/python3 - "$file.json" "$task" "$variant" "$label" >>"$results" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))[0]
metrics = report["metrics"]
metric = metrics["ppl"] if "ppl" in metrics else metrics["accuracy"]
size = report["size"]
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], f"{size['total_mib']:.4f}", f"{size['ratio']:.2f}",
                 f"{metric:.2f}"]))
EOF
}

# rows TASK TASK_ARGS IPQ_YAML FINETUNE_UPDATES LR: the five rows without and with Quant-Noise (compress
# fine-tunes on the task's training data and reports on its validation split; rows evaluate $eval_args).
rows() {
  local task=$1 task_args=$2 yaml=$3 finetune=$4 lr=$5
  local none="$run/$task-none/checkpoint_last.safetensors"
  local pq="$run/$task-pq/checkpoint_last.safetensors"
  local scalar="$run/$task-int4/checkpoint_last.safetensors"
  local ft
  ft=$(updates "$finetune")
  for variant in none noise; do
    local float_src=$none ipq_src=$none scalar_src=$none
    if [[ $variant == noise ]]; then float_src=$pq ipq_src=$pq scalar_src=$scalar; fi
    say "compress $task ($variant)"
    row "$task" "$variant" float "$float_src"
    # The int4-noise model in float: the rows int8 and int4 with Quant-Noise drop from it, not from the iPQ-noise one.
    if [[ $variant == noise ]]; then row "$task" "$variant" "float, int4-noise model" "$scalar_src"; fi
    for bits in 8 4; do
      # shellcheck disable=SC2086
      $qn compress "$scalar_src" $task_args --other-bits "$bits" --out "$run/$task-$variant-int$bits.safetensors"
      row "$task" "$variant" "int$bits" "$run/$task-$variant-int$bits.safetensors"
    done
    # shellcheck disable=SC2086
    $qn compress "$ipq_src" $task_args --quantization-config-path "$yaml" --max-update "$ft" --lr "$lr" \
      --out "$run/$task-$variant-ipq.safetensors"
    row "$task" "$variant" iPQ "$run/$task-$variant-ipq.safetensors"
    # shellcheck disable=SC2086
    $qn compress "$ipq_src" $task_args --quantization-config-path "$yaml" --max-update "$ft" --lr "$lr" \
      --centroid-bits 8 --other-bits 8 --out "$run/$task-$variant-ipq-int8.safetensors"
    row "$task" "$variant" "iPQ & int8" "$run/$task-$variant-ipq-int8.safetensors"
  done
}

# The three trainings of a task: ARGS are shared, then each adds its noise.
three_trainings() {
  local task=$1 task_args=$2 max_update=$3
  shift 3
  train "$task_args" "$task-none" "$max_update" "$@"
  train "$task_args" "$task-pq" "$max_update" "$@" --quant-noise-pq 0.1
  train "$task_args" "$task-int4" "$max_update" "$@" --quant-noise-scalar 0.1 --quant-bits 4
}

# --- Language modeling on WikiText-2 (word level, 33,280 words).
if wanted lm; then
forget lm
lm_started=$(date +%s)
say "preprocess WikiText-2"
$qn preprocess --only-source --trainpref "$data/wikitext-2/train.txt.gz" --validpref "$data/wikitext-2/valid.txt.gz" \
  --testpref "$data/wikitext-2/test.txt.gz" --destdir "$run/wikitext-2"
lm_task="$run/wikitext-2 --task language_modeling --tokens-per-sample 128 --max-tokens 4096 --num-workers 1"
three_trainings lm "$lm_task" 1000 --arch transformer_lm_tiny \
  --model-config '{"layers": 2, "dim": 128, "heads": 4, "ffn_dim": 512, "cutoffs": [2000, 10000]}' \
  --dropout 0.1 --quant-noise-pq-block-size 8 --optimizer adam --lr 0.002 --lr-scheduler cosine \
  --warmup-updates "$(updates 100)" --min-lr 1e-5 --clip-norm 1.0
eval_args="$lm_task --gen-subset test --context-window 64"
rows lm "$lm_task" tools/recipes/mini_lm_ipq.yaml 300 0.0005
finish lm "$lm_started"
fi

# --- EfficientNet on CIFAR-10.
if wanted cifar10; then
forget cifar10
cifar10_started=$(date +%s)
cifar_task="$data/cifar10-jpeg/cifar10-jpeg.tar.gz --task image_classification --batch-size 64 --num-workers 1"
three_trainings cifar10 "$cifar_task" 2500 --arch efficientnet_tiny --quant-noise-pq-block-size 8 \
  --optimizer adam --lr 0.004 --lr-scheduler cosine --warmup-updates "$(updates 200)" --min-lr 1e-5
eval_args="$cifar_task --gen-subset test"
rows cifar10 "$cifar_task" tools/recipes/efficientnet_ipq.yaml 300 0.0005
finish cifar10 "$cifar10_started"
fi

# --- RoBERTa: MLM pre-training on WikiText-2 in GPT-2 BPE (once, without noise), then RTE fine-tuning.
if wanted rte; then
forget rte
rte_started=$(date +%s)
say "preprocess WikiText-2 with GPT-2 BPE"
$qn preprocess --only-source --trainpref "$data/wikitext-2/train.txt.gz" --validpref "$data/wikitext-2/valid.txt.gz" \
  --destdir "$run/wikitext-2-bpe" --bpe-dir "$data/gpt2-bpe"
bpe="$run/rte-bpe"
mkdir -p "$bpe"
cp "$data/gpt2-bpe/encoder.json" "$data/gpt2-bpe/vocab.bpe" "$run/wikitext-2-bpe/dict.txt" "$bpe/"
roberta='{"layers": 4, "dim": 128, "heads": 4, "ffn_dim": 512, "max_positions": 258}'
train "$run/wikitext-2-bpe --task masked_lm --tokens-per-sample 128 --batch-size 32 --num-workers 1" mlm 1500 \
  --arch roberta_tiny --model-config "$roberta" --optimizer adam --lr 0.001 --lr-scheduler polynomial_decay \
  --warmup-updates "$(updates 300)" --clip-norm 1.0
rte_task="$data/glue/rte --task sentence_prediction --bpe-dir $bpe --batch-size 16 --tokens-per-sample 256"
three_trainings rte "$rte_task" 1000 --arch roberta_tiny --model-config "$roberta" \
  --restore-file "$run/mlm/checkpoint_last.safetensors" --quant-noise-pq-block-size 8 --optimizer adam --lr 1e-4 \
  --lr-scheduler polynomial_decay --warmup-updates "$(updates 100)" --clip-norm 1.0
eval_args="$rte_task --gen-subset valid"  # GLUE's test labels are hidden: dev accuracy, as the paper reports
rows rte "$rte_task" tools/recipes/roberta_ipq.yaml 300 2e-5
finish rte "$rte_started"
fi

say "done"
/usr/bin/python3 tools/mini_report.py "$results" --minutes "$minutes" --markdown "$report/RESULTS.md" \
  --plot "$report/mini_table1.svg"
