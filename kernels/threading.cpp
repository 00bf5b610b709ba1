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

std::string blas_core_advice(const std::string& core, bool cpu_has_avx2, bool cpu_has_avx512f) {
  // OpenBLAS's x86-64 cores with AVX2 kernels (corename is lower case in some versions).
  static constexpr std::string_view kAvx2Cores[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
  std::string lower = core;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!cpu_has_avx2 || std::ranges::find(kAvx2Cores, lower) != std::end(kAvx2Cores)) return "";
  const char* suggested = cpu_has_avx512f ? "SkylakeX" : "Haswell";
  return detail::concat("OpenBLAS runs its ", core, " kernels on a CPU with ", cpu_has_avx512f ? "AVX-512" : "AVX2",
                        " (a CPU model it does not know); OPENBLAS_CORETYPE=", suggested,
                        " in the environment makes its GEMMs several times faster");
}

std::string blas_core_advice() {
  return blas_core_advice(openblas_get_corename(), __builtin_cpu_supports("avx2"), __builtin_cpu_supports("avx512f"));
}

void sync_blas_threads() {
  const int threads = get_num_threads();
  if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
}

}  // namespace qn::kernels
