// Reduction entry points: which dims to reduce, output shape and dtype, keepdim, dispatch.
#include "kernels/reduce.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"
#include "kernels/elementwise.h"
#include "kernels/half_precision.h"

namespace qn::kernels {
namespace {

// Flags for the reduced dims (all when dims is empty).
std::vector<bool> reduced_dims(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> flags(x.dim(), dims.empty());
  for (int64_t d : dims) {
    const int n = normalize_dim(d, x.dim(), op);
    QN_CHECK(x.dim() == 0 || !flags[n], op, "dim ", d, " appears twice in the reduction dims");
    if (x.dim() > 0) flags[n] = true;
  }
  return flags;
}

Shape kept_shape(const Tensor& x, const std::vector<bool>& flags, bool keepdim) {
  Shape shape;
  for (int d = 0; d < x.dim(); ++d) {
    if (!flags[d])
      shape.push_back(x.shape()[d]);
    else if (keepdim)
      shape.push_back(1);
  }
  return shape;
}

int64_t reduced_count(const Tensor& x, const std::vector<bool>& flags) {
  int64_t n = 1;
  for (int d = 0; d < x.dim(); ++d) {
    if (flags[d]) n *= x.shape()[d];
  }
  return n;
}

Tensor run(cpu::Reduction op, const char* name, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
           DType out_dtype) {
  if (is_half(x.dtype())) return run(op, name, widened(x), dims, keepdim, DType::f32).to(out_dtype);
  const Device device = x.device();
  const std::vector<bool> flags = reduced_dims(x, dims, name);
  if (op != cpu::Reduction::sum) {
    QN_CHECK(reduced_count(x, flags) > 0, name, "cannot take the ", name, " of an empty reduction over ", x.describe());
  }
  Tensor out = empty(kept_shape(x, flags, false), TensorOptions(out_dtype, x.device()));
  device.is_cuda() ? cuda::reduce(op, x, flags, out) : cpu::reduce(op, x, flags, out);
  return keepdim ? out.view(kept_shape(x, flags, true)) : out;
}

DType sum_dtype(DType t) { return is_floating(t) ? t : DType::i64; }

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return run(cpu::Reduction::sum, "sum", x, dims, keepdim, sum_dtype(x.dtype()));
}

Tensor row_dots(const Tensor& a, const Tensor& b) {
  const Device device = common_device("row_dots", {&a, &b});
  require_same_dtype("row_dots", a, b);
  QN_CHECK(a.dim() == 2 && a.shape() == b.shape() && is_floating(a.dtype()), "row_dots",
           "expected two floating (R, L) tensors of one shape, got ", a.describe(), " and ", b.describe());
  if (device.is_cuda() || is_half(a.dtype())) return sum(binary(BinaryOp::mul, a, b), {1});
  Tensor out = empty({a.size(0)}, a.options());
  cpu::row_dots(a.contiguous(), b.contiguous(), out);  // contiguous() is the tensor itself when it already is
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  QN_CHECK(is_floating(x.dtype()), "mean", "expected a floating tensor, got ", x.describe());
  if (is_half(x.dtype())) return mean(widened(x), dims, keepdim).to(x.dtype());
  Tensor total = sum(x, dims, keepdim);
  const int64_t count = reduced_count(x, reduced_dims(x, dims, "mean"));
  binary_out(BinaryOp::div, total, scalar_tensor(static_cast<double>(count), total.options()), total);
  return total;
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return run(cpu::Reduction::max, "amax", x, dims, keepdim, x.dtype());
}

Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return run(cpu::Reduction::min, "amin", x, dims, keepdim, x.dtype());
}

// Two passes, sum((x - mean)^2) / (N - correction): the textbook form, accurate where the one-pass
// E[x^2] - E[x]^2 cancels catastrophically.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  QN_CHECK(is_floating(x.dtype()), "var", "expected a floating tensor, got ", x.describe());
  if (is_half(x.dtype())) return var(widened(x), dims, correction, keepdim).to(x.dtype());
  const int64_t count = reduced_count(x, reduced_dims(x, dims, "var"));
  Tensor centered = sub(x, mean(x, dims, true));
  Tensor squares = mul(centered, centered);
  Tensor total = sum(squares, dims, keepdim);
  const double divisor = static_cast<double>(std::max<int64_t>(count - correction, 0));
  binary_out(BinaryOp::div, total, scalar_tensor(divisor, total.options()), total);
  return total;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  if (is_half(x.dtype())) return argmax(widened(x), dim, keepdim);  // exact: widening keeps the order
  const int d = normalize_dim(dim, x.dim(), "argmax");
  const Tensor source = x.dim() == 0 ? x.reshape({1}) : x;
  QN_CHECK(source.shape()[d] > 0, "argmax", "cannot take the argmax of an empty dim of ", x.describe());
  std::vector<bool> flags(source.dim(), false);
  flags[d] = true;
  Tensor out = empty(kept_shape(source, flags, false), TensorOptions(DType::i64, x.device()));
  x.device().is_cuda() ? cuda::argmax(source, d, out) : cpu::argmax(source, d, out);
  if (x.dim() == 0) return out.reshape({});
  return keepdim ? out.view(kept_shape(source, flags, true)) : out;
}

}  // namespace qn::kernels
