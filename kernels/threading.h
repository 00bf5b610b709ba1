// Threads and the BLAS library: one thread count (qn::set_num_threads, or QN_NUM_THREADS) for the
// engine's OpenMP loops and for OpenBLAS.
#pragma once

#include <string>

#include "core/parallel.h"

namespace qn::kernels {

struct BlasInfo {
  std::string config;    // openblas_get_config(): version, build options
  std::string core;      // openblas_get_corename(): the kernel set in use (OPENBLAS_CORETYPE)
  std::string parallel;  // "sequential", "pthreads" or "OpenMP"
  int threads = 0;
};
BlasInfo blas_info();

// OpenBLAS falls back to its SSE3 "Prescott" kernels on a CPU model it does not know (a virtual machine's "Intel Xeon
// Processor"), at a third of the GEMM speed of its AVX2 ones. The core to use instead: "Haswell" when `core` is not
// one of OpenBLAS's AVX2 cores and the CPU has AVX2 and FMA; empty when the core suits the CPU. Never an AVX-512 core:
// OpenBLAS 0.3.21 computes wrong results or crashes with those on some CPUs it does not know. qn sets it for itself
// (tools/qn/blas_core.h).
std::string blas_core_replacement(const std::string& core, bool cpu_has_avx2_and_fma);
// Whether this CPU has AVX2 and FMA (what OpenBLAS's Haswell kernels need).
bool cpu_has_avx2_and_fma();
// The same for this process's OpenBLAS and CPU.
std::string blas_core_replacement();
// The kernel set OpenBLAS chose (openblas_get_corename), without starting its threads.
std::string blas_core();

// Makes OpenBLAS use qn::get_num_threads() threads (the pthread build does not follow OpenMP).
void sync_blas_threads();

}  // namespace qn::kernels
