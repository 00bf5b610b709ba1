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

// Makes OpenBLAS use qn::get_num_threads() threads (the pthread build does not follow OpenMP).
void sync_blas_threads();

}  // namespace qn::kernels
