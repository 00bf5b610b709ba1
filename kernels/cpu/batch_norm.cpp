// BatchNorm on the CPU: x viewed as (N, C, S), S = H*W. A channel's statistics sum N*S values, in one of two
// orders chosen by the shape alone, so results do not depend on the thread count:
//   planes  (S >= kPlanePixels): each plane of S contiguous values summed in a vectorized loop, the planes
//           taken in memory order over the threads; then a channel's N plane sums added in f64, image by image.
//   columns (smaller S, the late stages of a convolutional network, down to 1x1): x as N rows of C*S columns;
//           each column summed over the rows in f64, vectorized across columns (a plane of a few pixels would
//           leave a per-plane loop in its scalar tail), then a channel's S columns added.
// Elementwise passes follow the same layout: plane by plane in memory order, or across columns with per-channel
// values spread over each channel's S columns.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"

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
  template <class Index, class T>
  int operator()(Index, Index, T) const {
    return 0;
  }
};

// sums[c] = the sum of partial[index(c, k)] over k < count, in k's order; the same from second_partial into
// second_sums when there is a second term.
template <bool kTwo, class Index>
void add_partial_sums(int64_t channels, int64_t count, const Index& index, const std::vector<double>& partial,
                      const std::vector<double>& second_partial, std::vector<double>& sums,
                      std::vector<double>* second_sums) {
  for (int64_t c = 0; c < channels; ++c) {
    double total = 0, second_total = 0;
    for (int64_t k = 0; k < count; ++k) {
      total += partial[index(c, k)];
      if constexpr (kTwo) second_total += second_partial[index(c, k)];
    }
    sums[c] = total;
    if constexpr (kTwo) (*second_sums)[c] = second_total;
  }
}

// Each thread works on its own copies of the terms: reached through the enclosing closure, under `omp simd`,
// GCC 12 loaded the terms' pointers and values lane by lane with AVX-512 gathers (BatchNorm then took a quarter
// of the main job's training step; with the copies the step is a quarter shorter).
//
// sums[c] = the sum over channel c's elements of term(at, k): at the element's flat index, k the index of
// its channel's entries in ChannelValues. With a second term, second_sums gets the sums of second(at, k, v), v
// the first term's value there, from the same pass over the data (BatchNorm's backward reads the gradient and
// the input once for both of its sums).
template <class T, class Term, class SecondTerm = NoTerm>
void channel_sums(const Planes& p, const Term& term, std::vector<double>& sums, const SecondTerm& second = {},
                  std::vector<double>* second_sums = nullptr) {
  constexpr bool kTwo = !std::is_same_v<SecondTerm, NoTerm>;
  sums.assign(static_cast<size_t>(p.c), 0.0);
  if constexpr (kTwo) second_sums->assign(static_cast<size_t>(p.c), 0.0);
  if (!p.by_columns()) {
    // Planes in memory order (channel by channel would jump a whole image between planes), each plane's sum
    // kept, then a channel's N plane sums added in image order.
    const int64_t planes = p.n * p.c;
    std::vector<double> plane_sums(static_cast<size_t>(planes)), second_plane_sums(kTwo ? plane_sums.size() : 0);
    parallel_for(0, planes, 1, [&](int64_t q0, int64_t q1) {
      const Term first_term = term;
      const SecondTerm second_term = second;
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t c = q % p.c, begin = q * p.s, end = begin + p.s;
        T sum = 0, second_sum = 0;
#pragma omp simd reduction(+ : sum, second_sum)
        for (int64_t at = begin; at < end; ++at) {
          const T v = first_term(at, c);
          sum += v;
          if constexpr (kTwo) second_sum += second_term(at, c, v);
        }
        plane_sums[q] = static_cast<double>(sum);
        if constexpr (kTwo) second_plane_sums[q] = static_cast<double>(second_sum);
      }
    });
    add_partial_sums<kTwo>(
        p.c, p.n, [&p](int64_t c, int64_t n) { return n * p.c + c; }, plane_sums, second_plane_sums, sums, second_sums);
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
        const T v = first_term(row + j, j);
        acc[j] += static_cast<double>(v);
        if constexpr (kTwo) second_acc[j] += static_cast<double>(second_term(row + j, j, v));
      }
    }
  });
  add_partial_sums<kTwo>(
      p.c, p.s, [&p](int64_t c, int64_t i) { return c * p.s + i; }, column_sums, second_column_sums, sums, second_sums);
}

// Calls apply(at, k) for every element, k as in channel_sums.
template <class Apply>
void for_each_element(const Planes& p, const Apply& apply) {
  if (!p.by_columns()) {
    parallel_for(0, p.n * p.c, 1, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t c = q % p.c, at = q * p.s;
#pragma omp simd
        for (int64_t i = 0; i < p.s; ++i) apply(at + i, c);
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
                        const Tensor& bias, NormActivation activation, Tensor& out) {
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes p = planes_of(x);
    // y = act((x - mean) * (rstd * w) + b)
    std::vector<T> scale = values_of<T>(weight, p.c, T(1));
    for (int64_t c = 0; c < p.c; ++c) scale[c] *= rstd.device_ptr<T>()[c];
    const ChannelValues<T> m(p, values_of<T>(mean, p.c, T(0))), a(p, scale), b(p, values_of<T>(bias, p.c, T(0)));
    const T *in = x.device_ptr<T>(), *mk = m.data(), *ak = a.data(), *bk = b.data();
    T* y = out.device_ptr<T>();
    if (activation == NormActivation::silu) {
      for_each_element(p, [y, in, mk, ak, bk](int64_t at, int64_t k)
                              QN_VECTOR_LAMBDA { y[at] = silu((in[at] - mk[k]) * ak[k] + bk[k]); });
    } else {
      for_each_element(p, [y, in, mk, ak, bk](int64_t at, int64_t k) { y[at] = (in[at] - mk[k]) * ak[k] + bk[k]; });
    }
  });
}

namespace {

// The gradient BatchNorm's own formulas take, at an element: the incoming gradient, or with an activation after
// the normalization its gradient through the activation, at t = (x - mean) a + b recomputed from x. The
// activation's gradient is computed once, in the pass that sums it, and kept in dx's buffer for the pass that
// then overwrites it with dx (a sigmoid costs more than reading the value back).
template <class T, NormActivation kActivation>
struct NormalizedGradient {
  const T *g, *in, *mk, *ak, *bk;
  T* kept;
  [[gnu::always_inline]] T operator()(int64_t at, int64_t k) const {
    if constexpr (kActivation == NormActivation::silu) {
      const T v = silu_backward(g[at], (in[at] - mk[k]) * ak[k] + bk[k]);
      kept[at] = v;
      return v;
    } else {
      return g[at];
    }
  }
};

template <class T, NormActivation kActivation>
void batch_norm_backward_typed(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                               const Tensor& weight, const Tensor& bias, bool training, Tensor& dx, Tensor& dweight,
                               Tensor& dbias, const SumOverProcesses& sum_over_processes) {
  const Planes p = planes_of(x);
  const T* g = grad.device_ptr<T>();
  const T* in = x.device_ptr<T>();
  const ChannelValues<T> m(p, values_of<T>(mean, p.c, T(0)));
  const T* mk = m.data();
  // a = w rstd: the forward's scale, and dx's factor on the normalized gradient
  std::vector<T> a = values_of<T>(weight, p.c, T(1));
  for (int64_t c = 0; c < p.c; ++c) a[c] *= rstd.device_ptr<T>()[c];
  const ChannelValues<T> ak(p, a), bk(p, values_of<T>(bias, p.c, T(0)));
  T* out = dx.device_ptr<T>();
  const NormalizedGradient<T, kActivation> gn{g, in, mk, ak.data(), bk.data(), out};
  std::vector<double> sum_g, sum_gx;
  channel_sums<T>(
      p, [gn](int64_t at, int64_t k) QN_VECTOR_LAMBDA { return gn(at, k); }, sum_g,
      [in, mk](int64_t at, int64_t k, T v) { return v * (in[at] - mk[k]); }, &sum_gx);
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
  // dx = a g + slope (x - mean) + shift
  std::vector<T> slope(a.size()), shift(a.size());
  for (int64_t c = 0; c < p.c; ++c) {
    const T r = rstd.device_ptr<T>()[c];
    slope[c] = training ? static_cast<T>(-static_cast<double>(a[c]) * r * r * sum_gx[c] / count) : T(0);
    shift[c] = training ? static_cast<T>(-static_cast<double>(a[c]) * sum_g[c] / count) : T(0);
  }
  const ChannelValues<T> sk(p, slope), hk(p, shift);
  const T *av = ak.data(), *sv = sk.data(), *hv = hk.data();
  const T* normalized_grad = kActivation == NormActivation::none ? g : out;  // each read before it is overwritten
  for_each_element(p, [out, av, normalized_grad, sv, in, mk, hv](int64_t at, int64_t k) {
    out[at] = av[k] * normalized_grad[at] + sv[k] * (in[at] - mk[k]) + hv[k];
  });
}

}  // namespace

void batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, const Tensor& bias, NormActivation activation, bool training, Tensor& dx,
                         Tensor& dweight, Tensor& dbias, const SumOverProcesses& sum_over_processes) {
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (activation == NormActivation::silu) {
      batch_norm_backward_typed<T, NormActivation::silu>(grad, x, mean, rstd, weight, bias, training, dx, dweight,
                                                         dbias, sum_over_processes);
    } else {
      batch_norm_backward_typed<T, NormActivation::none>(grad, x, mean, rstd, weight, bias, training, dx, dweight,
                                                         dbias, sum_over_processes);
    }
  });
}

}  // namespace qn::kernels::cpu
