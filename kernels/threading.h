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

// What to tell a user whose OpenBLAS runs kernels older than the CPU: OpenBLAS falls back to its SSE3 "Prescott"
// kernels on a CPU model it does not know (a virtual machine's "Intel Xeon Processor"), at a third of the GEMM
// speed of its AVX2 ones. A sentence naming the OPENBLAS_CORETYPE to set, or empty when the core suits the CPU
// (or was chosen: any AVX2 core, even on an AVX-512 CPU).
std::string blas_core_advice(const std::string& core, bool cpu_has_avx2, bool cpu_has_avx512f);
// blas_core_advice for this process's OpenBLAS and CPU.
std::string blas_core_advice();

// Makes OpenBLAS use qn::get_num_threads() threads (the pthread build does not follow OpenMP).
void sync_blas_threads();

}  // namespace qn::kernels
