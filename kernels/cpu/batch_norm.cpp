// BatchNorm on the CPU: x viewed as (N, C, S), S = H*W; each channel's N planes of S contiguous values are
// summed plane by plane (a vectorized f32 sum per plane, the planes added in f64), parallel over channels,
// so results do not depend on the thread count.
#include <cmath>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"

namespace qn::kernels::cpu {
namespace {

struct Planes {
  int64_t n, c, s;
};
Planes planes_of(const Tensor& x) { return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1}; }

// sum over the channel's planes of f(plane pointer(s), s), each plane's part from a vectorized loop.
template <class PlaneSum>
double channel_sum(const Planes& p, int64_t channel, const PlaneSum& plane_sum) {
  double total = 0;
  for (int64_t n = 0; n < p.n; ++n) total += static_cast<double>(plane_sum((n * p.c + channel) * p.s));
  return total;
}

template <class T>
T value_or(const Tensor& t, int64_t c, T fallback) {
  return t.defined() ? t.data_ptr<T>()[c] : fallback;
}

}  // namespace

void batch_norm_moments(const Tensor& x, Tensor& mean, Tensor& var) {
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes p = planes_of(x);
    const T* data = x.data_ptr<T>();
    const double count = static_cast<double>(p.n * p.s);
    parallel_for(0, p.c, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const double m = channel_sum(p, c,
                                     [&](int64_t at) {
                                       T sum = 0;
#pragma omp simd reduction(+ : sum)
                                       for (int64_t i = 0; i < p.s; ++i) sum += data[at + i];
                                       return sum;
                                     }) /
                         count;
        const auto mt = static_cast<T>(m);
        const double v = channel_sum(p, c,
                                     [&](int64_t at) {
                                       T sum = 0;
#pragma omp simd reduction(+ : sum)
                                       for (int64_t i = 0; i < p.s; ++i)
                                         sum += (data[at + i] - mt) * (data[at + i] - mt);
                                       return sum;
                                     }) /
                         count;
        mean.data_ptr<T>()[c] = mt;
        var.data_ptr<T>()[c] = static_cast<T>(v);
      }
    });
  });
}

void batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                        const Tensor& bias, Tensor& out) {
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes p = planes_of(x);
    const T* in = x.data_ptr<T>();
    T* y = out.data_ptr<T>();
    parallel_for(0, p.c, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        // y = (x - mean) * (rstd * w) + b
        const T m = mean.data_ptr<T>()[c];
        const T a = rstd.data_ptr<T>()[c] * value_or<T>(weight, c, T(1));
        const T b = value_or<T>(bias, c, T(0));
        for (int64_t n = 0; n < p.n; ++n) {
          const T* src = in + (n * p.c + c) * p.s;
          T* dst = y + (n * p.c + c) * p.s;
          for (int64_t i = 0; i < p.s; ++i) dst[i] = (src[i] - m) * a + b;
        }
      }
    });
  });
}

void batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes p = planes_of(x);
    const T* g = grad.data_ptr<T>();
    const T* in = x.data_ptr<T>();
    T* out = dx.data_ptr<T>();
    const double count = static_cast<double>(p.n * p.s);
    parallel_for(0, p.c, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const T m = mean.data_ptr<T>()[c];
        const T r = rstd.data_ptr<T>()[c];
        const double sum_g = channel_sum(p, c, [&](int64_t at) {
          T sum = 0;
#pragma omp simd reduction(+ : sum)
          for (int64_t i = 0; i < p.s; ++i) sum += g[at + i];
          return sum;
        });
        const double sum_gx = channel_sum(p, c, [&](int64_t at) {
          T sum = 0;
#pragma omp simd reduction(+ : sum)
          for (int64_t i = 0; i < p.s; ++i) sum += g[at + i] * (in[at + i] - m);
          return sum;
        });
        if (dweight.defined()) dweight.data_ptr<T>()[c] = static_cast<T>(sum_gx * r);
        if (dbias.defined()) dbias.data_ptr<T>()[c] = static_cast<T>(sum_g);
        // dx = a g + k (x - mean) + shift, with a = w rstd
        const T a = r * value_or<T>(weight, c, T(1));
        const T k = training ? static_cast<T>(-static_cast<double>(a) * r * r * sum_gx / count) : T(0);
        const T shift = training ? static_cast<T>(-static_cast<double>(a) * sum_g / count) : T(0);
        for (int64_t n = 0; n < p.n; ++n) {
          const int64_t at = (n * p.c + c) * p.s;
          for (int64_t i = 0; i < p.s; ++i) out[at + i] = a * g[at + i] + k * (in[at + i] - m) + shift;
        }
      }
    });
  });
}

}  // namespace qn::kernels::cpu
