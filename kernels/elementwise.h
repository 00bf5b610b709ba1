// Elementwise kernels with NumPy broadcasting. Every op has an allocating form and an _out form that
// writes into a given tensor of the broadcast shape (which may be one of the inputs: in place).
#pragma once

#include <optional>

#include "core/tensor.h"

namespace qn::kernels {

enum class UnaryOp {
  neg,
  exp,
  log,
  sqrt,
  rsqrt,
  abs,
  tanh,
  sigmoid,
  relu,
  gelu,       // x * Phi(x), the exact (erf) form
  gelu_tanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  silu,       // x * sigmoid(x), a.k.a. swish
  erf,
};
enum class BinaryOp {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  relu_backward,     // (g, y) -> g where y > 0, else 0: ReLU's gradient from its output, in one pass
  gelu_backward,     // (g, x) -> g (Phi(x) + x phi(x)): GELU's (erf form) gradient from its input, in one pass
  silu_backward,     // (g, x) -> g s (1 + x (1 - s)), s = sigmoid(x): SiLU's gradient from its input
  sigmoid_backward,  // (g, y) -> g y (1 - y): the sigmoid's gradient from its output
};
enum class CompareOp { eq, ne, lt, le, gt, ge };

Tensor unary(UnaryOp op, const Tensor& x);
void unary_out(UnaryOp op, const Tensor& x, Tensor& out);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
void binary_out(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
// out = a + alpha * b rounded once (a fused multiply-add for floats), as PyTorch's add(a, b, alpha=...).
void add_scaled_out(const Tensor& a, const Tensor& b, double alpha, Tensor& out);
// Scalar right-hand side, taken in a's dtype.
Tensor binary(BinaryOp op, const Tensor& a, double b);
// 1 where the comparison holds, else 0, as u8.
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b);
Tensor compare(CompareOp op, const Tensor& a, double b);
// min(max(x, lo), hi); either bound may be absent.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// condition (u8, nonzero = true) ? a : b, all three broadcast together.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

// keep (u8, x's shape) ? x * scale : 0 in one pass: dropout's forward and backward.
Tensor masked_scale(const Tensor& x, const Tensor& keep, double scale);

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
const char* op_name(CompareOp op);

// Named forms.
inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
inline Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }
inline Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::maximum, a, b); }
inline Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::minimum, a, b); }
inline Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x); }
inline Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
inline Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
inline Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x); }
inline Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::rsqrt, x); }
inline Tensor abs(const Tensor& x) { return unary(UnaryOp::abs, x); }
inline Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x); }
inline Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x); }
inline Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x); }
inline Tensor gelu(const Tensor& x) { return unary(UnaryOp::gelu, x); }
inline Tensor gelu_tanh(const Tensor& x) { return unary(UnaryOp::gelu_tanh, x); }
inline Tensor silu(const Tensor& x) { return unary(UnaryOp::silu, x); }
inline Tensor erf(const Tensor& x) { return unary(UnaryOp::erf, x); }

}  // namespace qn::kernels
