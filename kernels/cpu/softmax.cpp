// CPU softmax and log-softmax on contiguous input.
// softmax viewed as (outer, n, inner) around dim:
//   inner == 1: each row is contiguous -> max, sum of exp, scale, all vectorized
//   inner  > 1: each (n, inner) block is reduced down its columns, inner values at a time
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"

namespace qn::kernels::cpu {
namespace {

template <class T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* in = x + r * n;
      T* out = y + r * n;
      if (!log) {
        softmax_row(in, out, n);
        continue;
      }
      const T max = finite_row_max(in, n);
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < n; ++i) sum += exp_fast<T>(in[i] - max);
      // (x - max) - log(sum): folding max into one shift would round it at max's magnitude.
      const T log_sum = std::log(sum);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) out[i] = (in[i] - max) - log_sum;
    }
  });
}

template <class T>
void softmax_columns(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  parallel_for(0, outer, 1, [&](int64_t b, int64_t e) {
    std::vector<T> max(inner);
    std::vector<T> sum(inner);
    for (int64_t o = b; o < e; ++o) {
      const T* in = x + o * n * inner;
      T* out = y + o * n * inner;
      std::fill(max.begin(), max.end(), -std::numeric_limits<T>::infinity());
      std::fill(sum.begin(), sum.end(), T(0));
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < inner; ++j) max[j] = std::max(max[j], in[i * inner + j]);
      }
      for (int64_t j = 0; j < inner; ++j) {
        if (!std::isfinite(max[j])) max[j] = std::isnan(max[j]) ? max[j] : T(0);
      }
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < inner; ++j) {
          const T v = exp_fast<T>(in[i * inner + j] - max[j]);
          sum[j] += v;
          if (!log) out[i * inner + j] = v;
        }
      }
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < inner; ++j) {
          out[i * inner + j] = log ? (in[i * inner + j] - max[j]) - std::log(sum[j]) : out[i * inner + j] / sum[j];
        }
      }
    }
  });
}

}  // namespace

void softmax(const Tensor& x, int dim, bool log, Tensor& out) {
  visit_floating(x.dtype(), "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    int64_t outer = 1;
    int64_t inner = 1;
    for (int i = 0; i < dim; ++i) outer *= x.shape()[i];
    for (int i = dim + 1; i < x.dim(); ++i) inner *= x.shape()[i];
    const int64_t n = x.shape()[dim];
    if (x.numel() == 0) return;
    if (inner == 1) {
      softmax_rows(x.device_ptr<T>(), out.device_ptr<T>(), outer, n, log);
    } else {
      softmax_columns(x.device_ptr<T>(), out.device_ptr<T>(), outer, n, inner, log);
    }
  });
}

}  // namespace qn::kernels::cpu
