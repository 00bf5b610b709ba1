#!/usr/bin/env bash
# The test suite: set up (including python3-torch for the parity tests), build, run every test outside the
# `long` label (GPU tests skip without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --tests
bash tools/build.sh -DQN_TESTS=ON -DQN_CUDA=AUTO  # with the CUDA backend when the toolkit is there
ctest --test-dir build --label-exclude long --output-on-failure -j "$(nproc)"
