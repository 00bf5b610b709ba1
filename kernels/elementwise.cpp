// Elementwise entry points: argument checks, output shape and dtype, device dispatch.
#include "kernels/elementwise.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"
#include "kernels/half_precision.h"

namespace qn::kernels {

const char* op_name(UnaryOp op) {
  constexpr const char* names[] = {"neg",     "exp",  "log",  "sqrt",      "rsqrt", "abs", "tanh",
                                   "sigmoid", "relu", "gelu", "gelu_tanh", "silu",  "erf"};
  return names[static_cast<int>(op)];
}
const char* op_name(BinaryOp op) {
  constexpr const char* names[] = {"add",
                                   "sub",
                                   "mul",
                                   "div",
                                   "pow",
                                   "maximum",
                                   "minimum",
                                   "relu_backward",
                                   "gelu_backward",
                                   "silu_backward",
                                   "sigmoid_backward"};
  return names[static_cast<int>(op)];
}
const char* op_name(CompareOp op) {
  constexpr const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  return names[static_cast<int>(op)];
}

static bool needs_floating(UnaryOp op) { return op != UnaryOp::neg && op != UnaryOp::abs && op != UnaryOp::relu; }

static void check_out(const char* op, const Shape& shape, DType dtype, const Tensor& out) {
  QN_CHECK(out.shape() == shape && out.dtype() == dtype, op, "output ", out.describe(), " does not match the ", dtype,
           shape, " result");
}

void unary_out(UnaryOp op, const Tensor& x, Tensor& out) {
  const char* name = op_name(op);
  const Device device = common_device(name, {&x, &out});
  QN_CHECK(!needs_floating(op) || is_floating(x.dtype()), name, "expected a floating tensor, got ", x.describe());
  check_out(name, x.shape(), x.dtype(), out);
  if (is_half(x.dtype())) {
    out.copy_(unary(op, widened(x)));
    return;
  }
  out.storage().bump_version();
  device.is_cuda() ? cuda::unary(op, x, out) : cpu::unary(op, x, out);
}

Tensor unary(UnaryOp op, const Tensor& x) {
  Tensor out = empty(x.shape(), x.options());
  unary_out(op, x, out);
  return out;
}

void binary_out(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const char* name = op_name(op);
  const Device device = common_device(name, {&a, &b, &out});
  require_same_dtype(name, a, b);
  check_out(name, broadcast_shapes(a.shape(), b.shape(), name), a.dtype(), out);
  const bool floating_only =
      op == BinaryOp::gelu_backward || op == BinaryOp::silu_backward || op == BinaryOp::sigmoid_backward;
  QN_CHECK(!floating_only || is_floating(a.dtype()), name, "expected floating operands, got ", a.describe());
  if (is_half(a.dtype())) {
    out.copy_(binary(op, widened(a), widened(b)));
    return;
  }
  out.storage().bump_version();
  device.is_cuda() ? cuda::binary(op, a, b, out) : cpu::binary(op, a, b, out);
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  require_same_dtype(op_name(op), a, b);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), op_name(op)), a.options());
  binary_out(op, a, b, out);
  return out;
}

void add_scaled_out(const Tensor& a, const Tensor& b, double alpha, Tensor& out) {
  const Device device = common_device("add_scaled", {&a, &b, &out});
  require_same_dtype("add_scaled", a, b);
  check_out("add_scaled", broadcast_shapes(a.shape(), b.shape(), "add_scaled"), a.dtype(), out);
  if (is_half(a.dtype())) {
    Tensor wide = widened(a);  // a fresh f32 copy
    add_scaled_out(wide, widened(b), alpha, wide);
    out.copy_(wide);
    return;
  }
  out.storage().bump_version();
  device.is_cuda() ? cuda::add_scaled(a, b, alpha, out) : cpu::add_scaled(a, b, alpha, out);
}

Tensor binary(BinaryOp op, const Tensor& a, double b) { return binary(op, a, scalar_tensor(b, a.options())); }

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  const Device device = common_device(name, {&a, &b});
  require_same_dtype(name, a, b);
  if (is_half(a.dtype())) return compare(op, widened(a), widened(b));
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), TensorOptions(DType::u8, device));
  device.is_cuda() ? cuda::compare(op, a, b, out) : cpu::compare(op, a, b, out);
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, double b) { return compare(op, a, scalar_tensor(b, a.options())); }

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  const Device device = x.device();
  QN_CHECK(!lo || !hi || *lo <= *hi, "clamp", "lower bound ", *lo, " exceeds upper bound ", *hi);
  if (is_half(x.dtype())) return clamp(widened(x), lo, hi).to(x.dtype());
  Tensor out = empty(x.shape(), x.options());
  device.is_cuda() ? cuda::clamp(x, lo, hi, out) : cpu::clamp(x, lo, hi, out);
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  const Device device = common_device("where", {&condition, &a, &b});
  require_same_dtype("where", a, b);
  QN_CHECK(condition.dtype() == DType::u8, "where", "condition must be u8 (as compare() returns), got ",
           condition.describe());
  if (is_half(a.dtype())) return where(condition, widened(a), widened(b)).to(a.dtype());
  const Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, a.options());
  device.is_cuda() ? cuda::where(condition, a, b, out) : cpu::where(condition, a, b, out);
  return out;
}

Tensor masked_scale(const Tensor& x, const Tensor& keep, double scale) {
  const Device device = common_device("masked_scale", {&x, &keep});
  QN_CHECK(is_floating(x.dtype()) && keep.dtype() == DType::u8 && keep.shape() == x.shape(), "masked_scale",
           "expected a floating x and a u8 mask of its shape, got ", x.describe(), " and ", keep.describe());
  if (is_half(x.dtype())) return masked_scale(widened(x), keep, scale).to(x.dtype());
  Tensor out = empty(x.shape(), x.options());
  device.is_cuda() ? cuda::masked_scale(x, keep, scale, out) : cpu::masked_scale(x, keep, scale, out);
  return out;
}

}  // namespace qn::kernels
