#!/usr/bin/env bash
# Configures and builds into build/ (Release, warnings as errors). Extra arguments go to cmake's configure step,
# except `--target T`, which builds only T (tools/main.sh builds just qn).
set -euo pipefail
cd "$(dirname "$0")/.."

configure=() build=()
while (($#)); do
  if [[ "$1" == "--target" ]]; then
    build+=(--target "$2")
    shift 2
  else
    configure+=("$1")
    shift
  fi
done
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DQN_WERROR=ON "${configure[@]}"
cmake --build build -j "$(nproc)" "${build[@]}"
