// CPU elementwise loops. Each op is a scalar functor; rows come from for_each_row, and the common row
// layouts (all contiguous, one operand broadcast) get their own loops so GCC vectorizes them.
#include <cmath>
#include <numbers>

#include "core/strided_loop.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/integer_power.h"

namespace qn::kernels::cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;

template <class T, class F>
void unary_loop(const Tensor& x, Tensor& out, const F& f) {
  const T* in = x.device_ptr<T>();
  T* o = out.device_ptr<T>();
  for_each_row<2>(
      out.shape(), {out.strides(), broadcast_strides(x.shape(), x.strides(), out.shape())},
      [&](const RowPointers<2>& r) {
        T* dst = o + r.offset[0];
        const T* src = in + r.offset[1];
        if (r.stride[0] == 1 && r.stride[1] == 1) {
#pragma omp simd
          for (int64_t i = 0; i < r.n; ++i) dst[i] = f(src[i]);
        } else {
          for (int64_t i = 0; i < r.n; ++i) dst[i * r.stride[0]] = f(src[i * r.stride[1]]);
        }
      },
      kGrain);
}

// When `full` has out's shape and `per_row` one value for each row of `inner` trailing elements (its shape out's
// leading dims, then ones: a per-channel scale (N, C, 1, 1) against (N, C, H, W)), both contiguous as out is, and
// the rows are short, returns inner; else 0. for_each_row walks such a product one row of `inner` elements per
// value, and on the small planes of a network's last stages (2 x 2) its set-up per row cost more than the
// arithmetic; on long rows the two loops cost the same.
constexpr int64_t kShortRow = 64;
int64_t per_row_inner(const Tensor& full, const Tensor& per_row, const Tensor& out) {
  if (!out.is_contiguous() || !full.is_contiguous() || !per_row.is_contiguous() || full.shape() != out.shape()) {
    return 0;
  }
  const Shape& shape = out.shape();
  const int lead = shape.size() - per_row.dim();
  if (lead < 0) return 0;
  int last = -1;  // the last of out's dims where per_row is not 1
  for (int d = 0; d < per_row.dim(); ++d) {
    if (per_row.size(d) != 1) last = lead + d;
  }
  for (int d = 0; d <= last; ++d) {
    if ((d < lead ? 1 : per_row.size(d - lead)) != shape[d]) return 0;
  }
  int64_t inner = 1;
  for (int d = last + 1; d < shape.size(); ++d) inner *= shape[d];
  return inner > 1 && inner <= kShortRow && per_row.numel() > 1 ? inner : 0;
}

// o[r inner + i] = f(full[r inner + i], v[r]) (or f(v[r], full[...]) with scalar_first), rows split over threads.
template <class T, class OutT, bool kScalarFirst, class F>
void per_row_loop(const T* full, const T* v, OutT* o, int64_t rows, int64_t inner, const F& f) {
  parallel_for(0, rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T value = v[r];
      const T* x = full + r * inner;
      OutT* dst = o + r * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) dst[i] = kScalarFirst ? f(value, x[i]) : f(x[i], value);
    }
  });
}

template <class T, class OutT, class F>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& out, const F& f) {
  const T* pa = a.device_ptr<T>();
  const T* pb = b.device_ptr<T>();
  OutT* po = out.device_ptr<OutT>();
  const Shape& shape = out.shape();
  if (const int64_t inner = per_row_inner(a, b, out)) {
    return per_row_loop<T, OutT, false>(pa, pb, po, out.numel() / inner, inner, f);
  }
  if (const int64_t inner = per_row_inner(b, a, out)) {
    return per_row_loop<T, OutT, true>(pb, pa, po, out.numel() / inner, inner, f);
  }
  for_each_row<3>(
      shape,
      {out.strides(), broadcast_strides(a.shape(), a.strides(), shape),
       broadcast_strides(b.shape(), b.strides(), shape)},
      [&](const RowPointers<3>& r) {
        OutT* o = po + r.offset[0];
        const T* x = pa + r.offset[1];
        const T* y = pb + r.offset[2];
        const int64_t n = r.n;
        if (r.stride[0] == 1 && r.stride[1] == 1 && r.stride[2] == 1) {
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
        } else if (r.stride[0] == 1 && r.stride[1] == 1 && r.stride[2] == 0) {
          const T yv = y[0];
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
        } else if (r.stride[0] == 1 && r.stride[1] == 0 && r.stride[2] == 1) {
          const T xv = x[0];
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) o[i * r.stride[0]] = f(x[i * r.stride[1]], y[i * r.stride[2]]);
        }
      },
      kGrain);
}

// The gelu constants: 1/sqrt(2) for the erf form, sqrt(2/pi) for the tanh form.
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // the normal density's 1 / sqrt(2 pi)

template <class T>
void unary_typed(UnaryOp op, const Tensor& x, Tensor& out) {
  switch (op) {
    case UnaryOp::neg:
      return unary_loop<T>(x, out, [](T v) { return static_cast<T>(-v); });
    case UnaryOp::abs:
      return unary_loop<T>(x, out, [](T v) { return static_cast<T>(v < 0 ? -v : v); });
    case UnaryOp::relu:
      return unary_loop<T>(x, out, [](T v) { return v > T(0) ? v : T(0); });
    default:
      break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::exp:
        return unary_loop<T>(x, out, [](T v) QN_VECTOR_LAMBDA { return exp_fast(v); });
      case UnaryOp::log:
        return unary_loop<T>(x, out, [](T v) { return std::log(v); });
      case UnaryOp::sqrt:
        return unary_loop<T>(x, out, [](T v) { return std::sqrt(v); });
      case UnaryOp::rsqrt:
        return unary_loop<T>(x, out, [](T v) { return T(1) / std::sqrt(v); });
      case UnaryOp::tanh:
        return unary_loop<T>(x, out, [](T v) { return std::tanh(v); });
      case UnaryOp::sigmoid:
        return unary_loop<T>(x, out, [](T v) QN_VECTOR_LAMBDA { return sigmoid(v); });
      case UnaryOp::erf:
        return unary_loop<T>(x, out, [](T v) { return std::erf(v); });
      case UnaryOp::silu:
        return unary_loop<T>(x, out, [](T v) QN_VECTOR_LAMBDA { return silu(v); });
      case UnaryOp::gelu:
        return unary_loop<T>(x, out,
                             [](T v) QN_VECTOR_LAMBDA { return T(0.5) * v * (T(1) + erf_fast(v * T(kInvSqrt2))); });
      case UnaryOp::gelu_tanh:
        return unary_loop<T>(x, out, [](T v) {
          return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
        });
      default:
        break;
    }
  }
  throw_error(op_name(op), "unsupported dtype");
}

template <class T>
T power(T base, T exponent) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::pow(base, exponent);
  } else {
    return integer_power(base, exponent);
  }
}

template <class T>
void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  switch (op) {
    case BinaryOp::add:
      return binary_loop<T, T>(a, b, out, [](T x, T y) { return static_cast<T>(x + y); });
    case BinaryOp::sub:
      return binary_loop<T, T>(a, b, out, [](T x, T y) { return static_cast<T>(x - y); });
    case BinaryOp::mul:
      return binary_loop<T, T>(a, b, out, [](T x, T y) { return static_cast<T>(x * y); });
    case BinaryOp::div:  // integers truncate; zero divisors were refused by binary()
      return binary_loop<T, T>(a, b, out, [](T x, T y) { return static_cast<T>(x / y); });
    case BinaryOp::pow:
      return binary_loop<T, T>(a, b, out, [](T x, T y) { return power(x, y); });
    // NaN propagates, as in PyTorch's maximum/minimum.
    case BinaryOp::maximum:
      return binary_loop<T, T>(a, b, out, [](T x, T y) { return (x != x || x > y) ? x : y; });
    case BinaryOp::minimum:
      return binary_loop<T, T>(a, b, out, [](T x, T y) { return (x != x || x < y) ? x : y; });
    case BinaryOp::relu_backward:
      return binary_loop<T, T>(a, b, out, [](T g, T y) { return y > T(0) ? g : T(0); });
    case BinaryOp::gelu_backward:
      if constexpr (std::is_floating_point_v<T>) {
        return binary_loop<T, T>(a, b, out, [](T g, T x) QN_VECTOR_LAMBDA {
          const T cdf = T(0.5) * (T(1) + erf_fast(x * T(kInvSqrt2)));
          const T pdf = exp_fast(T(-0.5) * x * x) * T(kInvSqrt2Pi);
          return g * (cdf + x * pdf);
        });
      }
      throw_error("gelu_backward", "expected floating operands");
    case BinaryOp::silu_backward:
      if constexpr (std::is_floating_point_v<T>) {
        return binary_loop<T, T>(a, b, out, [](T g, T x) QN_VECTOR_LAMBDA { return silu_backward(g, x); });
      }
      throw_error("silu_backward", "expected floating operands");
    case BinaryOp::sigmoid_backward:
      if constexpr (std::is_floating_point_v<T>) {
        return binary_loop<T, T>(a, b, out, [](T g, T y) { return g * (y * (T(1) - y)); });
      }
      throw_error("sigmoid_backward", "expected floating operands");
  }
}

template <class T>
void compare_typed(CompareOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  auto u8 = [](bool v) { return static_cast<uint8_t>(v); };
  switch (op) {
    case CompareOp::eq:
      return binary_loop<T, uint8_t>(a, b, out, [&](T x, T y) { return u8(x == y); });
    case CompareOp::ne:
      return binary_loop<T, uint8_t>(a, b, out, [&](T x, T y) { return u8(x != y); });
    case CompareOp::lt:
      return binary_loop<T, uint8_t>(a, b, out, [&](T x, T y) { return u8(x < y); });
    case CompareOp::le:
      return binary_loop<T, uint8_t>(a, b, out, [&](T x, T y) { return u8(x <= y); });
    case CompareOp::gt:
      return binary_loop<T, uint8_t>(a, b, out, [&](T x, T y) { return u8(x > y); });
    case CompareOp::ge:
      return binary_loop<T, uint8_t>(a, b, out, [&](T x, T y) { return u8(x >= y); });
  }
}

}  // namespace

void unary(UnaryOp op, const Tensor& x, Tensor& out) {
  visit_arithmetic(x.dtype(), op_name(op), [&](auto tag) { unary_typed<typename decltype(tag)::type>(op, x, out); });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_arithmetic(a.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) {
      if (op == BinaryOp::div) {  // refuse a zero divisor before writing anything
        const T* divisors = static_cast<const T*>(b.device_data());
        for_each_row<1>(b.shape(), {b.strides()}, [&](const RowPointers<1>& r) {
          for (int64_t i = 0; i < r.n; ++i) {
            QN_CHECK(divisors[r.offset[0] + i * r.stride[0]] != 0, "div", "integer division by zero (divisor ",
                     b.describe(), ")");
          }
        });
      }
    }
    binary_typed<T>(op, a, b, out);
  });
}

void add_scaled(const Tensor& a, const Tensor& b, double alpha, Tensor& out) {
  visit_arithmetic(a.dtype(), "add_scaled", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T scale = static_cast<T>(alpha);
    if constexpr (std::is_floating_point_v<T>) {
      binary_loop<T, T>(a, b, out, [scale](T x, T y) { return std::fma(y, scale, x); });
    } else {
      binary_loop<T, T>(a, b, out, [scale](T x, T y) { return static_cast<T>(x + scale * y); });
    }
  });
}

void compare(CompareOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_arithmetic(a.dtype(), op_name(op),
                   [&](auto tag) { compare_typed<typename decltype(tag)::type>(op, a, b, out); });
}

void clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi, Tensor& out) {
  visit_arithmetic(x.dtype(), "clamp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T low = lo ? static_cast<T>(*lo) : std::numeric_limits<T>::lowest();
    const T high = hi ? static_cast<T>(*hi) : std::numeric_limits<T>::max();
    // NaN stays NaN, as in PyTorch.
    unary_loop<T>(x, out, [=](T v) { return v != v ? v : (v < low ? low : (v > high ? high : v)); });
  });
}

void where(const Tensor& condition, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const uint8_t* pc = condition.device_ptr<uint8_t>();
    const T* pa = static_cast<const T*>(a.device_data());
    const T* pb = static_cast<const T*>(b.device_data());
    T* po = static_cast<T*>(out.device_data());
    const Shape& shape = out.shape();
    for_each_row<4>(
        shape,
        {out.strides(), broadcast_strides(condition.shape(), condition.strides(), shape),
         broadcast_strides(a.shape(), a.strides(), shape), broadcast_strides(b.shape(), b.strides(), shape)},
        [&](const RowPointers<4>& r) {
          const uint8_t* c = pc + r.offset[1];
          const T* x = pa + r.offset[2];
          const T* y = pb + r.offset[3];
          T* o = po + r.offset[0];
          if (r.stride[0] == 1 && r.stride[1] == 1 && r.stride[2] == 1 && r.stride[3] == 1) {
#pragma omp simd
            for (int64_t i = 0; i < r.n; ++i) o[i] = c[i] ? x[i] : y[i];
            return;
          }
          if (r.stride[0] == 1 && r.stride[1] == 1 && r.stride[2] == 1 && r.stride[3] == 0) {  // scalar else
            const T yv = y[0];
#pragma omp simd
            for (int64_t i = 0; i < r.n; ++i) o[i] = c[i] ? x[i] : yv;
            return;
          }
          if (r.stride[0] == 1 && r.stride[1] == 1 && r.stride[2] == 0 && r.stride[3] == 1) {  // scalar then
            const T xv = x[0];
#pragma omp simd
            for (int64_t i = 0; i < r.n; ++i) o[i] = c[i] ? xv : y[i];
            return;
          }
          for (int64_t i = 0; i < r.n; ++i) {
            po[r.offset[0] + i * r.stride[0]] = pc[r.offset[1] + i * r.stride[1]] ? pa[r.offset[2] + i * r.stride[2]]
                                                                                  : pb[r.offset[3] + i * r.stride[3]];
          }
        },
        kGrain);
  });
}

void masked_scale(const Tensor& x, const Tensor& keep, double scale, Tensor& out) {
  visit_floating(x.dtype(), "masked_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T factor = static_cast<T>(scale);
    const T* px = x.device_ptr<T>();
    const uint8_t* pk = keep.device_ptr<uint8_t>();
    T* po = out.device_ptr<T>();
    for_each_row<3>(
        out.shape(), {out.strides(), x.strides(), keep.strides()},
        [&](const RowPointers<3>& r) {
          T* o = po + r.offset[0];
          const T* v = px + r.offset[1];
          const uint8_t* k = pk + r.offset[2];
          if (r.stride[0] == 1 && r.stride[1] == 1 && r.stride[2] == 1) {
#pragma omp simd
            for (int64_t i = 0; i < r.n; ++i) o[i] = k[i] ? v[i] * factor : T(0);
          } else {
            for (int64_t i = 0; i < r.n; ++i)
              o[i * r.stride[0]] = k[i * r.stride[2]] ? v[i * r.stride[1]] * factor : T(0);
          }
        },
        kGrain);
  });
}

}  // namespace qn::kernels::cpu
