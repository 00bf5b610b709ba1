# The main job's data and training command line, sourced by tools/main.sh and bench/main_job_compare.sh (which
# times the same training), so that the two cannot drift apart.
#
# EfficientNet at width 1, depth 0.25 (one MBConv per stage, 1.59M parameters), stem stride 2 for 28x28 images,
# no dropout or drop-connect (five epochs do not overfit); Quant-Noise p = 0.05 in blocks of 8 on its 1x1
# convolutions and classifier. Five epochs are 4,690 updates of 64 (the caller adds --max-update and --save-dir).
# shellcheck shell=bash
main_job_data=/usr/share/datasets/fashion-mnist
main_job_task=(--task image_classification --batch-size 64 --num-workers 1)
main_job_train=(--arch efficientnet_tiny --model-config '{"width": 1.0, "stem_stride": 2, "drop_connect": 0.0}'
  --dropout 0 --quant-noise-pq 0.05 --quant-noise-pq-block-size 8 --optimizer adam --lr 0.004
  --lr-scheduler cosine --warmup-updates 100 --min-lr 1e-5)
