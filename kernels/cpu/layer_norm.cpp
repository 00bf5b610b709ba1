// CPU LayerNorm forward on contiguous (rows, cols): per row, the mean and the biased variance in double
// (two passes), then y = (x - mean) rstd w + b.
#include <cmath>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"

namespace qn::kernels::cpu {

void layer_norm(const Tensor& x, int64_t rows, int64_t cols, const Tensor& weight, const Tensor& bias, double eps,
                Tensor& out, Tensor& mean, Tensor& rstd) {
  visit_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = x.device_ptr<T>();
    T* y = out.device_ptr<T>();
    T* mean_out = mean.device_ptr<T>();
    T* rstd_out = rstd.device_ptr<T>();
    const T* w = weight.defined() ? weight.device_ptr<T>() : nullptr;
    const T* bv = bias.defined() ? bias.device_ptr<T>() : nullptr;
    parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* row = in + r * cols;
        double total = 0;
#pragma omp simd reduction(+ : total)
        for (int64_t i = 0; i < cols; ++i) total += row[i];
        const double mu = total / static_cast<double>(cols);
        double squares = 0;
#pragma omp simd reduction(+ : squares)
        for (int64_t i = 0; i < cols; ++i) squares += (row[i] - mu) * (row[i] - mu);
        const double inv_std = 1.0 / std::sqrt(squares / static_cast<double>(cols) + eps);
        const T m = static_cast<T>(mu);
        const T s = static_cast<T>(inv_std);
        T* dst = y + r * cols;
#pragma omp simd
        for (int64_t i = 0; i < cols; ++i) {
          T v = (row[i] - m) * s;
          if (w) v *= w[i];
          if (bv) v += bv[i];
          dst[i] = v;
        }
        mean_out[r] = m;
        rstd_out[r] = s;
      }
    });
  });
}

}  // namespace qn::kernels::cpu
