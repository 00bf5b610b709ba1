// BatchNorm on the CPU: x viewed as (N, C, S), S = H*W. A channel's statistics sum N*S values, in one of two
// orders chosen by the shape alone, so results do not depend on the thread count:
//   planes  (S >= kPlanePixels): each plane of S contiguous values summed in a vectorized loop, the N plane
//           sums added in f64; parallel over channels.
//   columns (smaller S, the late stages of a convolutional network, down to 1x1): x as N rows of C*S columns;
//           each column summed over the rows in f64, vectorized across columns (a plane of a few pixels would
//           leave a per-plane loop in its scalar tail), then a channel's S columns added.
// Elementwise passes follow the same layout: per channel over planes, or across columns with per-channel
// values spread over each channel's S columns.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"

namespace qn::kernels::cpu {
namespace {

constexpr int64_t kPlanePixels = 64;

struct Planes {
  int64_t n, c, s;
  bool by_columns() const { return s < kPlanePixels; }
  int64_t columns() const { return c * s; }
};
Planes planes_of(const Tensor& x) { return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1}; }

// Per-channel values indexed as the loops below index them: by channel over planes, by column over columns.
template <class T>
class ChannelValues {
 public:
  ChannelValues(const Planes& p, const std::vector<T>& per_channel) : values_(per_channel) {
    if (!p.by_columns() || p.s == 1) return;
    values_.resize(static_cast<size_t>(p.columns()));
    for (int64_t c = 0; c < p.c; ++c) {
      for (int64_t i = 0; i < p.s; ++i) values_[c * p.s + i] = per_channel[c];
    }
  }
  const T* data() const { return values_.data(); }

 private:
  std::vector<T> values_;
};

// No second term: channel_sums computes one sum.
struct NoTerm {
  template <class Index>
  int operator()(Index, Index) const {
    return 0;
  }
};

// Each thread works on its own copies of the terms: reached through the enclosing closure, under `omp simd`,
// GCC 12 loaded the terms' pointers and values lane by lane with AVX-512 gathers (BatchNorm then took a quarter
// of the main job's training step; with the copies the step is a quarter shorter).
//
// sums[c] = the sum over channel c's elements of term(at, k): at the element's flat index, k the index of
// its channel's entries in ChannelValues. With a second term, second_sums gets its sums from the same pass
// over the data (BatchNorm's backward reads the gradient and the input once for both of its sums).
template <class T, class Term, class SecondTerm = NoTerm>
void channel_sums(const Planes& p, const Term& term, std::vector<double>& sums, const SecondTerm& second = {},
                  std::vector<double>* second_sums = nullptr) {
  constexpr bool kTwo = !std::is_same_v<SecondTerm, NoTerm>;
  sums.assign(static_cast<size_t>(p.c), 0.0);
  if constexpr (kTwo) second_sums->assign(static_cast<size_t>(p.c), 0.0);
  if (!p.by_columns()) {
    parallel_for(0, p.c, 1, [&](int64_t c0, int64_t c1) {
      const Term first_term = term;
      const SecondTerm second_term = second;
      for (int64_t c = c0; c < c1; ++c) {
        double total = 0, second_total = 0;
        for (int64_t n = 0; n < p.n; ++n) {
          const int64_t begin = (n * p.c + c) * p.s, end = begin + p.s;
          T sum = 0, second_sum = 0;
#pragma omp simd reduction(+ : sum, second_sum)
          for (int64_t at = begin; at < end; ++at) {
            sum += first_term(at, c);
            if constexpr (kTwo) second_sum += second_term(at, c);
          }
          total += static_cast<double>(sum);
          second_total += static_cast<double>(second_sum);
        }
        sums[c] = total;
        if constexpr (kTwo) (*second_sums)[c] = second_total;
      }
    });
    return;
  }
  const int64_t columns = p.columns();
  std::vector<double> column_sums(static_cast<size_t>(columns), 0.0);
  std::vector<double> second_column_sums(kTwo ? static_cast<size_t>(columns) : 0, 0.0);
  parallel_for(0, columns, 256, [&](int64_t j0, int64_t j1) {
    const Term first_term = term;
    const SecondTerm second_term = second;
    double* acc = column_sums.data();
    double* second_acc = second_column_sums.data();
    for (int64_t n = 0; n < p.n; ++n) {
      const int64_t row = n * columns;
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) {
        acc[j] += static_cast<double>(first_term(row + j, j));
        if constexpr (kTwo) second_acc[j] += static_cast<double>(second_term(row + j, j));
      }
    }
  });
  for (int64_t c = 0; c < p.c; ++c) {
    double total = 0, second_total = 0;
    for (int64_t i = 0; i < p.s; ++i) {
      total += column_sums[c * p.s + i];
      if constexpr (kTwo) second_total += second_column_sums[c * p.s + i];
    }
    sums[c] = total;
    if constexpr (kTwo) (*second_sums)[c] = second_total;
  }
}

// Calls apply(at, k) for every element, k as in channel_sums.
template <class Apply>
void for_each_element(const Planes& p, const Apply& apply) {
  if (!p.by_columns()) {
    parallel_for(0, p.c, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t n = 0; n < p.n; ++n) {
          const int64_t at = (n * p.c + c) * p.s;
#pragma omp simd
          for (int64_t i = 0; i < p.s; ++i) apply(at + i, c);
        }
      }
    });
    return;
  }
  const int64_t columns = p.columns();
  parallel_for(0, p.n, std::max<int64_t>(1, 4096 / columns), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
#pragma omp simd
      for (int64_t j = 0; j < columns; ++j) apply(n * columns + j, j);
    }
  });
}

template <class T>
std::vector<T> values_of(const Tensor& t, int64_t channels, T fallback) {
  if (!t.defined()) return std::vector<T>(static_cast<size_t>(channels), fallback);
  const T* data = t.device_ptr<T>();
  return std::vector<T>(data, data + channels);
}

}  // namespace

double batch_norm_moments(const Tensor& x, Tensor& mean, Tensor& var, const SumOverProcesses& sum_over_processes) {
  double count = 0;
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes p = planes_of(x);
    const T* data = x.device_ptr<T>();
    count = static_cast<double>(p.n * p.s);
    std::vector<double> sums;
    channel_sums<T>(
        p, [data](int64_t at, int64_t) { return data[at]; }, sums);
    if (sum_over_processes) {  // the whole batch's sums and count
      sums.push_back(count);
      sum_over_processes(sums);
      count = sums.back();
      sums.pop_back();
    }
    std::vector<T> means(static_cast<size_t>(p.c));
    for (int64_t c = 0; c < p.c; ++c) means[c] = static_cast<T>(sums[c] / count);
    const ChannelValues<T> m(p, means);
    const T* mk = m.data();
    channel_sums<T>(
        p,
        [data, mk](int64_t at, int64_t k) {
          const T d = data[at] - mk[k];
          return d * d;
        },
        sums);
    if (sum_over_processes) sum_over_processes(sums);
    for (int64_t c = 0; c < p.c; ++c) {
      mean.device_ptr<T>()[c] = means[c];
      var.device_ptr<T>()[c] = static_cast<T>(sums[c] / count);
    }
  });
  return count;
}

void batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                        const Tensor& bias, Tensor& out) {
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes p = planes_of(x);
    // y = (x - mean) * (rstd * w) + b
    std::vector<T> scale = values_of<T>(weight, p.c, T(1));
    for (int64_t c = 0; c < p.c; ++c) scale[c] *= rstd.device_ptr<T>()[c];
    const ChannelValues<T> m(p, values_of<T>(mean, p.c, T(0))), a(p, scale), b(p, values_of<T>(bias, p.c, T(0)));
    const T *in = x.device_ptr<T>(), *mk = m.data(), *ak = a.data(), *bk = b.data();
    T* y = out.device_ptr<T>();
    for_each_element(p, [y, in, mk, ak, bk](int64_t at, int64_t k) { y[at] = (in[at] - mk[k]) * ak[k] + bk[k]; });
  });
}

void batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias,
                         const SumOverProcesses& sum_over_processes) {
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes p = planes_of(x);
    const T* g = grad.device_ptr<T>();
    const T* in = x.device_ptr<T>();
    const ChannelValues<T> m(p, values_of<T>(mean, p.c, T(0)));
    const T* mk = m.data();
    std::vector<double> sum_g, sum_gx;
    channel_sums<T>(
        p, [g](int64_t at, int64_t) { return g[at]; }, sum_g,
        [g, in, mk](int64_t at, int64_t k) { return g[at] * (in[at] - mk[k]); }, &sum_gx);
    for (int64_t c = 0; c < p.c; ++c) {  // this process's: the parameters' gradients
      const T r = rstd.device_ptr<T>()[c];
      if (dweight.defined()) dweight.device_ptr<T>()[c] = static_cast<T>(sum_gx[c] * r);
      if (dbias.defined()) dbias.device_ptr<T>()[c] = static_cast<T>(sum_g[c]);
    }
    double count = static_cast<double>(p.n * p.s);
    if (training && sum_over_processes) {  // the whole batch's: the input's gradient
      std::vector<double> sums(sum_g);
      sums.insert(sums.end(), sum_gx.begin(), sum_gx.end());
      sums.push_back(count);
      sum_over_processes(sums);
      std::copy(sums.begin(), sums.begin() + p.c, sum_g.begin());
      std::copy(sums.begin() + p.c, sums.begin() + 2 * p.c, sum_gx.begin());
      count = sums.back();
    }
    // dx = a g + k (x - mean) + shift, with a = w rstd
    std::vector<T> a(static_cast<size_t>(p.c)), slope(a.size()), shift(a.size());
    for (int64_t c = 0; c < p.c; ++c) {
      const T r = rstd.device_ptr<T>()[c];
      a[c] = r * (weight.defined() ? weight.device_ptr<T>()[c] : T(1));
      slope[c] = training ? static_cast<T>(-static_cast<double>(a[c]) * r * r * sum_gx[c] / count) : T(0);
      shift[c] = training ? static_cast<T>(-static_cast<double>(a[c]) * sum_g[c] / count) : T(0);
    }
    const ChannelValues<T> ak(p, a), sk(p, slope), hk(p, shift);
    const T *av = ak.data(), *sv = sk.data(), *hv = hk.data();
    T* out = dx.device_ptr<T>();
    for_each_element(p, [out, av, g, sv, in, mk, hv](int64_t at, int64_t k) {
      out[at] = av[k] * g[at] + sv[k] * (in[at] - mk[k]) + hv[k];
    });
  });
}

}  // namespace qn::kernels::cpu
