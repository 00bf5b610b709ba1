#!/usr/bin/env bash
# The test suite: set up (including python3-torch for the parity tests), build, run every test (GPU tests skip
# without a GPU); then build again with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and run the unit, gradcheck, quant and data suites under them and each parser's
# fuzzer for a bounded time (label `fuzz`; docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --tests --fuzz
bash tools/build.sh -DQN_TESTS=ON -DQN_CUDA=AUTO  # with the CUDA backend when the toolkit is there
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The unit and data tests again with the data sets hidden, as on a user's clone: the fuzzers' seeds come from the
# engine, and each test that needs a data set skips, saying which (about a minute).
QN_DATA=/nonexistent ctest --test-dir build -L 'unit|data' --output-on-failure -j "$(nproc)"

cmake --preset asan-ubsan -DQN_FUZZ_SECONDS="${QN_FUZZ_SECONDS:-30}" > /dev/null
cmake --build build-asan
ctest --preset asan-ubsan
