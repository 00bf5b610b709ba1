#!/usr/bin/env bash
# Installs the Debian packages quantnoise builds with, only those missing (as root, or via sudo).
#   tools/setup.sh           build dependencies
#   tools/setup.sh --main    also dataset-fashion-mnist (the main job's data)
#   tools/setup.sh --mini    also gnuplot (tools/reproduce_mini.sh's plot)
#   tools/setup.sh --tests   also python3-torch, python3-torchvision and python3-regex (the references the tests
#                            compare against), dataset-fashion-mnist (real data for the data and end-to-end tests)
#                            and OpenMPI (the multi-process tests, under mpiexec)
#   tools/setup.sh --fuzz    also clang with libFuzzer, the sanitizers' runtimes and LLVM's OpenMP (the "fuzz"
#                            build preset)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache git
  libopenblas-openmp-dev   # BLAS; the OpenMP build shares one thread pool with the engine
  libgtest-dev libbenchmark-dev
  libstb-dev nlohmann-json3-dev libcli11-dev zlib1g-dev libyaml-cpp-dev
)
for flag in "$@"; do  # the flags combine: --tests --mini installs both sets
  case "$flag" in
    --main) packages+=(dataset-fashion-mnist) ;;
    --mini) packages+=(gnuplot-nox) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev libomp-14-dev) ;;
    --tests) packages+=(python3-torch python3-torchvision python3-regex dataset-fashion-mnist libopenmpi-dev openmpi-bin) ;;
    *)
      echo "setup: unknown flag '$flag' (expected --main, --mini, --tests or --fuzz)" >&2
      exit 2
      ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
