#!/usr/bin/env bash
# The GPU bundle, proved without a GPU (label gpu_kit; docs/GPU.md):
#   1. tools/gpu_bundle.sh builds it;
#   2. with LD_LIBRARY_PATH cleared, ldd resolves every library of every carried program and engine library inside
#      the bundle, except the C/C++ runtime and CUDA's libraries;
#   3. no carried program or engine library uses an instruction beyond x86-64-v3 (AVX2): no AVX-512 register,
#      mask or broadcast, no AMX or AVX-VNNI instruction in the disassembly;
#   4. the folder is under 58 MiB;
#   5. run.sh runs to its end, every GPU step saying "no GPU" in the summary;
#   6. run.sh with QN_KIT_DEVICE=sim rehearses the training steps (train, compress through three iPQ stages, eval)
#      on the simulated device, so that the GPU run cannot fail on a command line;
#   7. the benchmark summary pairs bench_gpu's rows with the peer's and divides them right.
#   gpu_kit_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
source_dir=$1
work=$2
bundle=$work/gpu-bundle
fail() {
  echo "gpu_kit_test: $*" >&2
  exit 1
}

# 1. The build dir sits beside the test's work dir (under build/), so that reruns reuse its objects.
bash "$source_dir/tools/gpu_bundle.sh" --out "$bundle" --build-dir "$work/build-gpu"

# 2. Libraries.
system_libs='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|libgomp)\.so'
cuda_libs='^(libcuda|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*|libnccl)\.so'
bundle_lib=$(cd "$bundle/lib" && pwd -P)
checked=0
for elf in "$bundle"/bin/* "$bundle"/lib/libqn_*.so; do
  while read -r soname arrow path _; do
    [[ "$arrow" == "=>" ]] || continue
    [[ "$soname" =~ $system_libs || "$soname" =~ $cuda_libs ]] && continue
    [[ "$(readlink -f "$path")" == "$bundle_lib/"* ]] ||
      fail "$(basename "$elf") loads $soname from '$path', outside the bundle"
    checked=$((checked + 1))
  done < <(env -u LD_LIBRARY_PATH ldd "$elf")
done
((checked >= 5)) || fail "ldd found only $checked bundled libraries: OpenBLAS and the engine's should be among them"

# 3. Instructions: AVX-512 shows as zmm registers, xmm/ymm 16-31, mask registers and {1toN} broadcasts, and as
# instructions AVX2 does not have, even on ymm0-15 (vpternlog, vpermt2, the down-converting moves, the 64-bit lane
# multiplies and conversions...); AMX as tmm registers; AVX-VNNI and VNNI as vpdpbusd/vpdpwssd. (OpenBLAS, carried
# too, picks its kernels for the CPU at run time: it is not checked.)
evex_only='vpternlog[dq]|vperm[it]2[bwdqps]*|vpro[lr]v?[dq]|v(p)?compress[a-z]*|v(p)?expand[a-z]*|vfixupimm[a-z]*'
evex_only+='|vgetexp[a-z]*|vgetmant[a-z]*|vrange[a-z]*|vreduce[a-z]*|vrndscale[a-z]*|vscalef[a-z]*'
evex_only+='|vpmov(q[bwd]|d[bw]|wb|u?s[qdw][bwd]|m2[bwdq]|[bwdq]2m)|vpconflict[dq]|vplzcnt[dq]|vpmadd52[a-z]*'
evex_only+='|vpopcnt[bwdq]|valign[dq]|vdbpsadbw|vps[lr][la]vw|vpsravq?|vpsraq|vpermw|vpbroadcastm[a-z0-9]*'
evex_only+='|vcvtt?(ps|pd|sd|ss)2u?(qq|udq|usi)|vcvtu?(qq|uqq|udq|usi)2(ps|pd|sd|ss)'
evex_only+='|v(insert|extract)[if](32x4|64x2|32x8|64x4)|vbroadcast[if](32x2|32x4|64x2|32x8|64x4)'
evex_only+='|vshuf[if](32x4|64x2)|vpabsq|vp(max|min)[su]q|vpmullq|vfpclass[a-z]*|vrcp14[a-z]*|vrsqrt14[a-z]*'
mask_ops='k(mov|and|andn|or|xor|xnor|not|shiftl|shiftr|test|ortest|add|unpck)[bwdq]'
beyond_v3="%zmm|%[xy]mm(1[6-9]|2[0-9]|3[01])\b|%k[0-7]\b|\{1to[0-9]+\}|%tmm"
beyond_v3+="|:\s+(\{vex\} |\{evex\} )?(vpdp(bu|ws)sds?|$mask_ops|$evex_only)\s"
for elf in "$bundle"/bin/* "$bundle"/lib/libqn_*.so; do
  if found=$(objdump -d --no-show-raw-insn "$elf" | grep -m 3 -E "$beyond_v3"); then
    fail "$(basename "$elf") uses instructions beyond x86-64-v3:"$'\n'"$found"
  fi
done

# 4. Size.
bytes=$(du -sb "$bundle" | cut -f1)
((bytes <= 58 << 20)) || fail "the bundle is $((bytes >> 20)) MiB, over 58 MiB"

# 5. run.sh without a GPU (hidden, on a machine that has one).
export CUDA_VISIBLE_DEVICES=-1
env -u LD_LIBRARY_PATH bash "$bundle/run.sh" "$work/kit-out" || fail "run.sh failed: $(cat "$work/kit-out/summary.md")"
summary=$work/kit-out/summary.md
for section in "## device" "## cuda tests" "## training on cuda" "## benchmarks"; do
  grep -q "^$section" "$summary" || fail "the summary has no '$section' section"
done
[[ $(grep -c -- "^- no GPU" "$summary") -eq 4 ]] || fail "not every GPU step says 'no GPU':"$'\n'"$(cat "$summary")"
grep -q "cuda_test: [0-9]* passed, 0 failed, [1-9][0-9]* skipped" "$summary" ||
  fail "cuda_test did not run, or failed:"$'\n'"$(cat "$summary")"

# 6. The training steps, rehearsed on the simulated device (a few updates: this checks the commands, not learning).
QN_KIT_DEVICE=sim QN_KIT_UPDATES=10 env -u LD_LIBRARY_PATH bash "$bundle/run.sh" "$work/kit-sim" ||
  fail "run.sh on sim failed:"$'\n'"$(cat "$work/kit-sim/summary.md")"
grep -q "^| iPQ |" "$work/kit-sim/summary.md" || fail "no iPQ row in the rehearsal's summary"
# 7. The benchmark summary pairs our rows with the peer's (results made up here: 300 ms against 200 is 1.50x).
mkdir -p "$work/kit-bench"
cat > "$work/kit-bench/bench_LmStep.json" << 'JSON'
{"context": {"date": "2026-12-07"}, "benchmarks": [
  {"name": "BM_GpuLmStep/1/real_time", "real_time": 300.0, "time_unit": "ms", "MFU": 0.41},
  {"name": "BM_GpuMatmul/2/8192/real_time", "real_time": 1500.0, "time_unit": "us", "TFLOP/s": 733.0}]}
JSON
cat > "$work/kit-bench/peer.json" << 'JSON'
{"torch": "2.11.0", "device": "GPU", "rows": [{"work": "lm", "precision": "bf16", "ms": 200.0, "mfu": 0.6},
  {"work": "matmul", "precision": "bf16", "n": 8192, "ms": 1.2, "tflops": 916.0}]}
JSON
table=$(python3 "$bundle/scripts/summarize.py" bench "$work/kit-bench")
grep -qF "| lm | bf16 | 300.00 | 200.00 | 1.50x | 0.410 | 0.600 |" <<< "$table" || fail "bench summary: $table"
grep -qF "| matmul 8192^3 | bf16 | 1.50 | 1.20 | 1.25x | 733 | 916 |" <<< "$table" || fail "bench summary: $table"
echo "gpu_kit_test: the bundle is $((bytes >> 20)) MiB; $checked bundled libraries resolved; run.sh passed"
