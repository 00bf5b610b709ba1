#!/usr/bin/env bash
# The main job: set up, build everything, and run it. Until the training pipeline lands, that is
# `qn info`: the build, its BLAS and threads, CUDA/cuDNN and the GPUs it can see.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh
bash tools/build.sh
build/bin/qn info
