// Scalar math written so that GCC vectorizes loops calling it (no calls into libm, no branches).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

// On the lambdas whose bodies inline exp_fast, erf_fast or sigmoid: GCC would otherwise leave such a body an
// out-of-line call per element, which keeps the loop around it scalar.
#define QN_VECTOR_LAMBDA __attribute__((always_inline))

namespace qn::kernels::cpu {

// exp for float, within 2 ulp of the correctly rounded result over the whole range.
// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln(2)/2; exp(r) by the Cephes minimax
// polynomial. 2^n is applied as two factors 2^(n/2) so that results down to the subnormal range
// (x >= -103.9) stay exact and larger |x| overflow to inf or underflow to 0 naturally.
[[gnu::always_inline]] inline float exp_f32(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;     // ln 2 split: kLn2Hi + kLn2Lo,
  constexpr float kLn2Lo = -2.12194440e-4f;  // kLn2Hi exact in 9 bits so n * kLn2Hi is exact
  // Keeps n in int range; NaN becomes -104 here (converting NaN to int is undefined), and comes back below.
  const float lower = x > -104.0f ? x : -104.0f;
  const float xc = lower < 89.0f ? lower : 89.0f;
  // Round to nearest by adding and removing 1.5 * 2^23 (exact in IEEE arithmetic; std::floor would
  // not vectorize without -fno-trapping-math).
  constexpr float kRoundMagic = 12582912.0f;
  const float n = (xc * kLog2e + kRoundMagic) - kRoundMagic;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * (r * r) + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t half = ni >> 1;
  const float scale1 = std::bit_cast<float>((half + 127) << 23);
  const float scale2 = std::bit_cast<float>((ni - half + 127) << 23);
  return x != x ? x : e * scale1 * scale2;
}

inline double exp_f64(double x) { return std::exp(x); }

template <class T>
[[gnu::always_inline]] inline T exp_fast(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return exp_f32(x);
  } else {
    return static_cast<T>(std::exp(x));
  }
}

// The largest of x[0..n) as a loop of std::max computes it (NaN entries skipped), over 16 running maxima so that
// it vectorizes: GCC leaves a max reduction scalar, one dependent compare per element.
template <class T>
inline T max_of(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  T lanes[kLanes];
  std::fill(lanes, lanes + kLanes, -std::numeric_limits<T>::infinity());
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] = lanes[j] < x[i + j] ? x[i + j] : lanes[j];
  }
  T max = -std::numeric_limits<T>::infinity();
  for (int j = 0; j < kLanes; ++j) max = std::max(max, lanes[j]);
  for (; i < n; ++i) max = std::max(max, x[i]);
  return max;
}

// erf for float within 6e-7 of the true value (Abramowitz and Stegun 7.1.26: 1.5e-7 in exact arithmetic, plus
// float rounding), absolute, not relative: for GELU's 1 + erf, not for erf near 0. The form PyTorch's vectorized
// CPU erf uses, and the CUDA kernels' GELU (kernels/cuda/elementwise.cu). Branch-free, so loops vectorize.
[[gnu::always_inline]] inline float erf_f32(float x) {
  const float a = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly =
      ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  return std::copysign(1.0f - poly * exp_f32(-a * a), x);
}

// The GELU's erf: the fast float form above, libm's for double (gradcheck's precision).
template <class T>
[[gnu::always_inline]] inline T erf_fast(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return erf_f32(x);
  } else {
    return static_cast<T>(std::erf(x));
  }
}

// The shift a softmax row subtracts: its max (NaN entries skipped), or 0 when that is infinite (a row of only -inf
// then gives NaN, as in PyTorch).
template <class T>
inline T finite_row_max(const T* x, int64_t n) {
  const T max = max_of(x, n);
  return std::isfinite(max) || std::isnan(max) ? max : T(0);
}

// out = softmax(in) over one row of n; out may be in. -inf entries give 0.
template <class T>
inline void softmax_row(const T* in, T* out, int64_t n) {
  const T max = finite_row_max(in, n);
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) {
    out[i] = exp_fast<T>(in[i] - max);
    sum += out[i];
  }
  const T scale = T(1) / sum;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] *= scale;
}

template <class T>
[[gnu::always_inline]] inline T sigmoid(T x) {
  return T(1) / (T(1) + exp_fast<T>(-x));
}

// SiLU (swish) and its gradient: silu(x) = x sigmoid(x), d silu / dx = s (1 + x (1 - s)) with s = sigmoid(x).
template <class T>
[[gnu::always_inline]] inline T silu(T x) {
  return x * sigmoid(x);
}
template <class T>
[[gnu::always_inline]] inline T silu_backward(T g, T x) {
  const T s = sigmoid(x);
  return g * (s * (T(1) + x * (T(1) - s)));
}

}  // namespace qn::kernels::cpu
