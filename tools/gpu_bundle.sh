#!/usr/bin/env bash
# Makes the GPU bundle (docs/GPU.md): one folder with everything a CUDA machine needs to check this engine, apart
# from CUDA's own libraries (cudart, cuBLAS, cuBLASLt, cuDNN, NCCL), which its run.sh finds there:
#   qn, cuda_test and bench_gpu, built for any x86-64-v3 CPU (AVX2; no -march=native), without MPI, for the GPUs of
#   CMAKE_CUDA_ARCHITECTURES, over shared engine libraries so that the three programs carry one copy of the engine;
#   every other shared library they load (OpenBLAS, libgfortran, libquadmath, yaml-cpp, zlib), found with ldd and
#   loaded through the programs' $ORIGIN-relative RPATH; run.sh and its scripts, the PyTorch peer and the model
#   definitions it shares with the parity tests, the iPQ recipe.
#
#   bash tools/gpu_bundle.sh [--out gpu-bundle] [--build-dir build-gpu]
#
# The build reuses ccache's objects: the CUDA files compile to the same commands as in build/. At most 58 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

out=gpu-bundle build=build-gpu
while (($#)); do
  case "$1" in
    --out) out=$2 && shift 2 ;;
    --build-dir) build=$2 && shift 2 ;;
    *) echo "gpu_bundle: unknown argument '$1' (expected --out DIR or --build-dir DIR)" >&2 && exit 2 ;;
  esac
done
readonly limit_bytes=$((58 << 20))
# Loaded from the machine itself: the C and C++ runtimes, and CUDA's libraries (and the driver's).
readonly system_libs='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|libgomp)\.so'
readonly cuda_libs='^(libcuda|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*|libnccl)\.so'

if ! command -v nvcc > /dev/null && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "gpu_bundle: needs the CUDA toolkit (nvcc), under /usr/local/cuda or on the PATH" >&2
  exit 1
fi

# One configuration for the bundle: portable CPU code, shared engine libraries in $build/lib, and every program's
# RPATH $ORIGIN/../lib only, as DT_RPATH (not RUNPATH) so that it also serves the libraries' own dependencies
# (OpenBLAS's libgfortran).
mkdir -p "$build" "$out"
build=$(cd "$build" && pwd) out=$(cd "$out" && pwd)
# Only a bundle made here before is replaced (.qn-gpu-bundle marks one): --out must be empty or hold one.
if [[ -n "$(ls -A "$out")" && ! -f "$out/.qn-gpu-bundle" ]]; then
  echo "gpu_bundle: $out is not empty and is not a bundle: give an empty or new folder" >&2
  exit 1
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQN_WERROR=ON -DQN_MARCH=x86-64-v3 -DQN_SHARED_LIBS=ON \
  -DQN_MPI=OFF -DQN_CUDA=ON -DQN_TESTS=ON -DQN_BENCH=ON -DCMAKE_CUDA_ARCHITECTURES="80-real;90" \
  -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$build/lib" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
  '-DCMAKE_INSTALL_RPATH=$ORIGIN/../lib' -DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags \
  -DCMAKE_SHARED_LINKER_FLAGS=-Wl,--disable-new-dtags > "$build/configure.log" ||
  { cat "$build/configure.log" >&2 && exit 1; }
cmake --build "$build" -j "$(nproc)" --target qn cuda_test bench_gpu

rm -rf "$out"
mkdir -p "$out"/{bin,lib,scripts,peer,recipes}
touch "$out/.qn-gpu-bundle"
for program in qn cuda_test bench_gpu; do
  strip --strip-unneeded -o "$out/bin/$program" "$build/bin/$program"
done
for library in "$build"/lib/libqn_*.so; do
  strip --strip-unneeded -o "$out/lib/$(basename "$library")" "$library"
done

# The other libraries, as the loader resolves them here (CUDA's from the toolkit, so that their own dependencies
# show too): those of the system and of CUDA stay behind, the rest is copied under its soname.
cuda_dir=$(dirname "$(readlink -f "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")/..
: > "$out/cuda-libs.txt.tmp"
for elf in "$out"/bin/* "$out"/lib/libqn_*.so; do
  while read -r soname arrow path _; do
    [[ "$arrow" == "=>" ]] || continue
    if [[ "$soname" =~ $cuda_libs ]]; then
      echo "$soname" >> "$out/cuda-libs.txt.tmp"
    elif [[ ! "$soname" =~ $system_libs && ! -e "$out/lib/$soname" ]]; then
      [[ -e "$path" ]] || { echo "gpu_bundle: $elf needs $soname, which is not found here" >&2 && exit 1; }
      cp -L "$path" "$out/lib/$soname"
    fi
  done < <(LD_LIBRARY_PATH="$cuda_dir/lib64:$cuda_dir/lib" ldd "$elf")
done
grep -v '^libcuda\.so' "$out/cuda-libs.txt.tmp" | sort -u > "$out/cuda-libs.txt"
rm "$out/cuda-libs.txt.tmp"

cp tools/gpu_kit/run.sh "$out/run.sh"
cp tools/gpu_kit/run_gtest.py tools/gpu_kit/make_idx.py tools/gpu_kit/summarize.py "$out/scripts/"
# The peer finds its model definitions beside itself here, as it finds them in tests/parity in the source tree.
cp bench/peer/gpu_peer.py tests/parity/reference_models.py "$out/peer/"
cp tools/recipes/efficientnet_fashion_mnist_ipq.yaml "$out/recipes/"

{
  echo "quantnoise $(git describe --always --dirty 2> /dev/null || echo unknown), built $(date -u '+%Y-%m-%d %H:%M UTC')" \
    "for x86-64-v3 and CUDA architectures 80-real;90"
  echo "needs from the machine: $(tr '\n' ' ' < "$out/cuda-libs.txt")and the C/C++ runtime"
  (cd "$out" && find . -type f ! -name MANIFEST.txt ! -name .qn-gpu-bundle -printf '%10s %p\n' | sort -k2)
} > "$out/MANIFEST.txt"

bytes=$(du -sb "$out" | cut -f1)
if ((bytes > limit_bytes)); then
  echo "gpu_bundle: $out is $((bytes >> 20)) MiB, over the 58 MiB limit" >&2
  exit 1
fi
echo "gpu_bundle: $out, $((bytes >> 20)) MiB: bash $out/run.sh OUT_DIR on a CUDA machine (docs/GPU.md)"
