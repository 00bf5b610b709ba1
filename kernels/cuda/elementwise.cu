// CUDA elementwise kernels: one grid-stride kernel per dtype for each family (unary, binary, compare, ...), the op
// chosen by a switch every thread of the launch takes alike. The ops compute as kernels/cpu/elementwise.cpp does,
// in T's own precision.
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cuda/kernel_support.cuh"
#include "kernels/integer_power.h"

namespace qn::kernels::cuda {
namespace {

// The gelu constants: 1/sqrt(2) for the erf form, sqrt(2/pi) for the tanh form.
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

// GELU's erf as the CPU computes it (kernels/cpu/vec_math.h, erf_f32): Abramowitz and Stegun 7.1.26 in float,
// libm's erf in double, so that both devices' GELU agree to the exp's last bits.
__device__ inline float gelu_erf(float x) {
  const float a = fabsf(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly =
      ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  return copysignf(1.0f - poly * expf(-a * a), x);
}
__device__ inline double gelu_erf(double x) { return ::erf(x); }

template <class T>
__device__ T sigmoid(T v) {
  return T(1) / (T(1) + m_exp(-v));
}

template <class T>
__device__ T apply_unary(UnaryOp op, T v) {
  switch (op) {
    case UnaryOp::neg:
      return static_cast<T>(-v);
    case UnaryOp::abs:
      if constexpr (std::is_unsigned_v<T>)
        return v;
      else
        return static_cast<T>(v < 0 ? -v : v);
    case UnaryOp::relu:
      return v > T(0) ? v : T(0);
    default:
      break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::exp:
        return m_exp(v);
      case UnaryOp::log:
        return m_log(v);
      case UnaryOp::sqrt:
        return m_sqrt(v);
      case UnaryOp::rsqrt:
        return T(1) / m_sqrt(v);
      case UnaryOp::tanh:
        return m_tanh(v);
      case UnaryOp::sigmoid:
        return sigmoid(v);
      case UnaryOp::erf:
        return m_erf(v);
      case UnaryOp::silu:
        return v * sigmoid(v);
      case UnaryOp::gelu:
        return T(0.5) * v * (T(1) + gelu_erf(v * T(kInvSqrt2)));
      case UnaryOp::gelu_tanh:
        return T(0.5) * v * (T(1) + m_tanh(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
      default:
        break;
    }
  }
  return v;  // not reached: the entry point refused the op for this dtype
}

template <class T>
__device__ T power(T base, T exponent) {
  if constexpr (std::is_floating_point_v<T>) {
    return m_pow(base, exponent);
  } else {
    return integer_power(base, exponent);
  }
}

template <class T>
__device__ T apply_binary(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::add:
      return static_cast<T>(x + y);
    case BinaryOp::sub:
      return static_cast<T>(x - y);
    case BinaryOp::mul:
      return static_cast<T>(x * y);
    case BinaryOp::div:  // integers truncate; zero divisors were refused on the host
      return static_cast<T>(x / y);
    case BinaryOp::pow:
      return power(x, y);
    case BinaryOp::maximum:  // NaN propagates, as in PyTorch
      return (x != x || x > y) ? x : y;
    case BinaryOp::minimum:
      return (x != x || x < y) ? x : y;
    case BinaryOp::relu_backward:
      return y > T(0) ? x : T(0);
    case BinaryOp::gelu_backward:  // (g, x); integer operands were refused on the host
      if constexpr (std::is_floating_point_v<T>) {
        const T cdf = T(0.5) * (T(1) + gelu_erf(y * T(kInvSqrt2)));
        return x * (cdf + y * m_exp(T(-0.5) * y * y) * T(kInvSqrt2Pi));
      }
      return x;
    case BinaryOp::silu_backward:  // (g, x)
      if constexpr (std::is_floating_point_v<T>) {
        const T s = sigmoid(y);
        return x * (s * (T(1) + y * (T(1) - s)));
      }
      return x;
    case BinaryOp::sigmoid_backward:  // (g, y)
      if constexpr (std::is_floating_point_v<T>) return x * (y * (T(1) - y));
      return x;
  }
  return x;
}

template <class T>
__device__ bool apply_compare(CompareOp op, T x, T y) {
  switch (op) {
    case CompareOp::eq:
      return x == y;
    case CompareOp::ne:
      return x != y;
    case CompareOp::lt:
      return x < y;
    case CompareOp::le:
      return x <= y;
    case CompareOp::gt:
      return x > y;
    case CompareOp::ge:
      return x >= y;
  }
  return false;
}

template <class T>
__global__ void unary_kernel(int64_t n, Offsets<2> at, UnaryOp op, T* out, const T* x) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[2];
    at.at(i, o);
    out[o[0]] = apply_unary(op, x[o[1]]);
  }
}

template <class T>
__global__ void binary_kernel(int64_t n, Offsets<3> at, BinaryOp op, T* out, const T* a, const T* b) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[3];
    at.at(i, o);
    out[o[0]] = apply_binary(op, a[o[1]], b[o[2]]);
  }
}

template <class T>
__global__ void add_scaled_kernel(int64_t n, Offsets<3> at, T alpha, T* out, const T* a, const T* b) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[3];
    at.at(i, o);
    if constexpr (std::is_floating_point_v<T>) {
      out[o[0]] = m_fma(b[o[2]], alpha, a[o[1]]);  // rounded once, as on the CPU
    } else {
      out[o[0]] = static_cast<T>(a[o[1]] + alpha * b[o[2]]);
    }
  }
}

template <class T>
__global__ void compare_kernel(int64_t n, Offsets<3> at, CompareOp op, uint8_t* out, const T* a, const T* b) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[3];
    at.at(i, o);
    out[o[0]] = apply_compare(op, a[o[1]], b[o[2]]) ? 1 : 0;
  }
}

template <class T>
__global__ void clamp_kernel(int64_t n, Offsets<2> at, T low, T high, T* out, const T* x) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[2];
    at.at(i, o);
    const T v = x[o[1]];
    out[o[0]] = v != v ? v : (v < low ? low : (v > high ? high : v));  // NaN stays NaN, as in PyTorch
  }
}

template <class T>
__global__ void where_kernel(int64_t n, Offsets<4> at, T* out, const uint8_t* condition, const T* a, const T* b) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[4];
    at.at(i, o);
    out[o[0]] = condition[o[1]] ? a[o[2]] : b[o[3]];
  }
}

template <class T>
__global__ void masked_scale_kernel(int64_t n, Offsets<3> at, T scale, T* out, const T* x, const uint8_t* keep) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[3];
    at.at(i, o);
    out[o[0]] = keep[o[2]] ? x[o[1]] * scale : T(0);
  }
}

// Launches kernel over out's elements (operands[0]) with the operands' offsets, then the remaining arguments.
template <int N, class... KernelArgs, class... Args>
void launch(const char* op, const std::array<const Tensor*, N>& operands,
            void (*kernel)(int64_t, Offsets<N>, KernelArgs...), Args... args) {
  const Tensor& out = *operands[0];
  const int64_t n = out.numel();
  if (n == 0) return;
  kernel<<<grid_for(n), kBlock, 0, stream_of(out)>>>(n, make_offsets<N>(operands), args...);
  check_launch(op);
}

// Integer division by zero is refused before anything is written, as on the CPU (a copy of the divisors to the
// host: integer division on a GPU is rare, and this keeps the error where the CPU raises it).
template <class T>
void refuse_zero_divisor(const Tensor& b) {
  const Tensor divisors = b.to(Device::cpu());
  const T* d = divisors.data_ptr<T>();
  for (int64_t i = 0; i < divisors.numel(); ++i) {
    QN_CHECK(d[i] != 0, "div", "integer division by zero (divisor ", b.describe(), ")");
  }
}

}  // namespace

void unary(UnaryOp op, const Tensor& x, Tensor& out) {
  visit_arithmetic(x.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<2>(op_name(op), {&out, &x}, unary_kernel<T>, op, device_ptr<T>(out), device_ptr<const T>(x));
  });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_arithmetic(a.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) {
      if (op == BinaryOp::div) refuse_zero_divisor<T>(b);
    }
    launch<3>(op_name(op), {&out, &a, &b}, binary_kernel<T>, op, device_ptr<T>(out), device_ptr<const T>(a),
              device_ptr<const T>(b));
  });
}

void add_scaled(const Tensor& a, const Tensor& b, double alpha, Tensor& out) {
  visit_arithmetic(a.dtype(), "add_scaled", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<3>("add_scaled", {&out, &a, &b}, add_scaled_kernel<T>, static_cast<T>(alpha), device_ptr<T>(out),
              device_ptr<const T>(a), device_ptr<const T>(b));
  });
}

void compare(CompareOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_arithmetic(a.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<3>(op_name(op), {&out, &a, &b}, compare_kernel<T>, op, device_ptr<uint8_t>(out), device_ptr<const T>(a),
              device_ptr<const T>(b));
  });
}

void clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi, Tensor& out) {
  visit_arithmetic(x.dtype(), "clamp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T low = lo ? static_cast<T>(*lo) : std::numeric_limits<T>::lowest();
    const T high = hi ? static_cast<T>(*hi) : std::numeric_limits<T>::max();
    launch<2>("clamp", {&out, &x}, clamp_kernel<T>, low, high, device_ptr<T>(out), device_ptr<const T>(x));
  });
}

void where(const Tensor& condition, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_device_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<4>("where", {&out, &condition, &a, &b}, where_kernel<T>, device_ptr<T>(out),
              device_ptr<const uint8_t>(condition), device_ptr<const T>(a), device_ptr<const T>(b));
  });
}

void masked_scale(const Tensor& x, const Tensor& keep, double scale, Tensor& out) {
  visit_floating(x.dtype(), "masked_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<3>("masked_scale", {&out, &x, &keep}, masked_scale_kernel<T>, static_cast<T>(scale), device_ptr<T>(out),
              device_ptr<const T>(x), device_ptr<const uint8_t>(keep));
  });
}

}  // namespace qn::kernels::cuda
