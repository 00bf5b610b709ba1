// CPU cross-entropy on log-probabilities (N, C), one row per task.
#include <cmath>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"

namespace qn::kernels::cpu {

int64_t nll_with_smoothing(const Tensor& log_probs, const Tensor& targets, std::optional<int64_t> ignore_index,
                           double smoothing, Tensor& losses) {
  const int64_t n = log_probs.size(0);
  const int64_t classes = log_probs.size(1);
  const int64_t* t = targets.device_ptr<int64_t>();
  int64_t valid = 0;
  for (int64_t i = 0; i < n; ++i) valid += !(ignore_index && t[i] == *ignore_index);
  visit_floating(log_probs.dtype(), "cross_entropy", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* lp = log_probs.device_ptr<T>();
    T* out = losses.device_ptr<T>();
    parallel_for(0, n, std::max<int64_t>(1, 4096 / std::max<int64_t>(classes, 1)), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        if (ignore_index && t[i] == *ignore_index) {
          out[i] = T(0);
          continue;
        }
        const T* row = lp + i * classes;
        double total = 0;
        if (smoothing > 0) {
          for (int64_t c = 0; c < classes; ++c) total += row[c];
        }
        out[i] = static_cast<T>(-((1 - smoothing) * row[t[i]] + smoothing / static_cast<double>(classes) * total));
      }
    });
  });
  return valid;
}

void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, const Tensor& weights,
                            std::optional<int64_t> ignore_index, double smoothing, Tensor& grad) {
  const int64_t n = log_probs.size(0);
  const int64_t classes = log_probs.size(1);
  const int64_t* t = targets.device_ptr<int64_t>();
  visit_floating(log_probs.dtype(), "cross_entropy_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* lp = log_probs.device_ptr<T>();
    const T* w = weights.device_ptr<T>();
    T* g = grad.device_ptr<T>();
    const T uniform = static_cast<T>(smoothing / static_cast<double>(classes));
    parallel_for(0, n, std::max<int64_t>(1, 4096 / std::max<int64_t>(classes, 1)), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        T* row = g + i * classes;
        if (ignore_index && t[i] == *ignore_index) {
          std::fill(row, row + classes, T(0));
          continue;
        }
        const T* in = lp + i * classes;
        const T wi = w[i];
#pragma omp simd
        for (int64_t c = 0; c < classes; ++c) row[c] = wi * (exp_fast(in[c]) - uniform);
        row[t[i]] -= w[i] * static_cast<T>(1 - smoothing);
      }
    });
  });
}

}  // namespace qn::kernels::cpu
