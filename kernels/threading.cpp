#include "kernels/threading.h"

#include <cblas.h>

namespace qn::kernels {

BlasInfo blas_info() {
  sync_blas_threads();
  BlasInfo info;
  info.config = openblas_get_config();
  info.core = openblas_get_corename();
  switch (openblas_get_parallel()) {
    case 0:
      info.parallel = "sequential";
      break;
    case 1:
      info.parallel = "pthreads";
      break;
    default:
      info.parallel = "OpenMP";
      break;
  }
  info.threads = openblas_get_num_threads();
  return info;
}

void sync_blas_threads() {
  const int threads = get_num_threads();
  if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
}

}  // namespace qn::kernels
