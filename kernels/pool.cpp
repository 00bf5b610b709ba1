// Pooling entry points: PyTorch's output-size rules and argument checks.
#include "kernels/pool.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"

namespace qn::kernels {
namespace {

// PyTorch's pooling_output_shape: floor or ceil of (size + 2 pad - kernel) / stride + 1, and in ceil
// mode the last window must start inside the input or its left padding.
int64_t pooled_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode) {
  const int64_t span = size + 2 * pad - kernel;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

Shape pool_shape(const Tensor& x, const Pool2dParams& p, const char* op) {
  QN_CHECK(x.dim() == 4, op, "expected input (N, C, H, W), got ", x.describe());
  QN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, "expected f32 or f64, got ", x.describe());
  for (int i = 0; i < 2; ++i) {
    QN_CHECK(p.kernel[i] >= 1 && p.stride[i] >= 1, op, "kernel and stride must be positive");
    QN_CHECK(p.padding[i] >= 0 && 2 * p.padding[i] <= p.kernel[i], op, "padding ", p.padding[i],
             " must be between 0 and half the kernel ", p.kernel[i]);
    QN_CHECK(x.size(2 + i) + 2 * p.padding[i] >= p.kernel[i], op, "kernel ", p.kernel[i],
             " is larger than the padded input ", x.describe());
  }
  return {x.size(0), x.size(1), pooled_size(x.size(2), p.kernel[0], p.stride[0], p.padding[0], p.ceil_mode),
          pooled_size(x.size(3), p.kernel[1], p.stride[1], p.padding[1], p.ceil_mode)};
}

}  // namespace

MaxPoolResult max_pool2d(const Tensor& x, const Pool2dParams& params) {
  const Shape shape = pool_shape(x, params, "max_pool2d");
  MaxPoolResult r{empty(shape, x.options()), empty(shape, TensorOptions(DType::i64, x.device()))};
  x.is_cuda() ? cuda::max_pool2d(x.contiguous(), params, r.out, r.indices)
              : cpu::max_pool2d(x.contiguous(), params, r.out, r.indices);
  return r;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params) {
  Tensor out = empty(pool_shape(x, params, "avg_pool2d"), x.options());
  x.is_cuda() ? cuda::avg_pool2d(x.contiguous(), params, out) : cpu::avg_pool2d(x.contiguous(), params, out);
  return out;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  QN_CHECK(x.dim() == 4, "adaptive_avg_pool2d", "expected input (N, C, H, W), got ", x.describe());
  QN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "adaptive_avg_pool2d", "expected f32 or f64, got ",
           x.describe());
  QN_CHECK(out_h >= 1 && out_w >= 1 && x.size(2) >= 1 && x.size(3) >= 1, "adaptive_avg_pool2d", "output size ", out_h,
           "x", out_w, " and input ", x.describe(), " must be non-empty");
  Tensor out = empty({x.size(0), x.size(1), out_h, out_w}, x.options());
  x.is_cuda() ? cuda::adaptive_avg_pool2d(x.contiguous(), out) : cpu::adaptive_avg_pool2d(x.contiguous(), out);
  return out;
}

namespace {

void check_pool_grad(const Tensor& grad_out, const Shape& input_shape, const char* op) {
  QN_CHECK(grad_out.dim() == 4 && input_shape.size() == 4 && grad_out.size(0) == input_shape[0] &&
               grad_out.size(1) == input_shape[1],
           op, "gradient ", grad_out.describe(), " does not match the input shape ", input_shape);
}

}  // namespace

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape) {
  check_pool_grad(grad_out, input_shape, "max_pool2d_backward");
  QN_CHECK(indices.shape() == grad_out.shape() && indices.dtype() == DType::i64, "max_pool2d_backward", "indices ",
           indices.describe(), " must be i64 of the gradient's shape ", grad_out.shape());
  common_device("max_pool2d_backward", {&grad_out, &indices});
  Tensor dx = zeros(input_shape, grad_out.options());
  grad_out.is_cuda() ? cuda::max_pool2d_backward(grad_out.contiguous(), indices.contiguous(), dx)
                     : cpu::max_pool2d_backward(grad_out.contiguous(), indices.contiguous(), dx);
  return dx;
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dParams& params) {
  check_pool_grad(grad_out, input_shape, "avg_pool2d_backward");
  QN_CHECK(pool_shape(empty(input_shape, grad_out.options()), params, "avg_pool2d_backward") == grad_out.shape(),
           "avg_pool2d_backward", "gradient ", grad_out.describe(), " does not match pooling ", input_shape);
  Tensor dx = zeros(input_shape, grad_out.options());
  grad_out.is_cuda() ? cuda::avg_pool2d_backward(grad_out.contiguous(), params, dx)
                     : cpu::avg_pool2d_backward(grad_out.contiguous(), params, dx);
  return dx;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape) {
  check_pool_grad(grad_out, input_shape, "adaptive_avg_pool2d_backward");
  Tensor dx = zeros(input_shape, grad_out.options());
  grad_out.is_cuda() ? cuda::adaptive_avg_pool2d_backward(grad_out.contiguous(), dx)
                     : cpu::adaptive_avg_pool2d_backward(grad_out.contiguous(), dx);
  return dx;
}

}  // namespace qn::kernels
