#include "kernels/threading.h"

#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string_view>

#include "core/error.h"

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

std::string blas_core_replacement(const std::string& core, bool cpu_has_avx2_and_fma) {
  // OpenBLAS's x86-64 cores with AVX2 kernels (corename is lower case in some versions).
  static constexpr std::string_view kAvx2Cores[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
  std::string lower = core;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!cpu_has_avx2_and_fma || std::ranges::find(kAvx2Cores, lower) != std::end(kAvx2Cores)) return "";
  return "Haswell";
}

bool cpu_has_avx2_and_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

std::string blas_core_replacement() { return blas_core_replacement(blas_core(), cpu_has_avx2_and_fma()); }

std::string blas_core() { return openblas_get_corename(); }

void sync_blas_threads() {
  const int threads = get_num_threads();
  if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
}

}  // namespace qn::kernels
