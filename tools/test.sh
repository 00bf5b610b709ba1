#!/usr/bin/env bash
# The test suite: set up (including python3-torch for the parity tests), build, run every test outside the
# `long` label (GPU tests skip without a GPU); then build the parsers' fuzzers with clang, ASan and UBSan and run
# each for a bounded time (label `fuzz`, docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --tests --fuzz
bash tools/build.sh -DQN_TESTS=ON -DQN_CUDA=AUTO  # with the CUDA backend when the toolkit is there
ctest --test-dir build --label-exclude long --output-on-failure -j "$(nproc)"

cmake --preset fuzz -DQN_FUZZ_SECONDS="${QN_FUZZ_SECONDS:-30}" > /dev/null
cmake --build build-fuzz --target fuzzers
ctest --preset fuzz
