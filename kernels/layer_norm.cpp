// LayerNorm entry point: shape checks against normalized_shape, then the CPU kernel.
#include "kernels/layer_norm.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"

namespace qn::kernels {

LayerNormResult layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                           double eps) {
  const Device device = common_device("layer_norm", {&x, &weight, &bias});
  QN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "layer_norm", "expected a f32 or f64 tensor, got ",
           x.describe());
  const int k = normalized_shape.size();
  QN_CHECK(k >= 1 && k <= x.dim(), "layer_norm", "normalized_shape ", normalized_shape, " must name 1 to ", x.dim(),
           " trailing dims of ", x.describe());
  Shape leading;
  for (int i = 0; i < x.dim(); ++i) {
    if (i < x.dim() - k) {
      leading.push_back(x.shape()[i]);
    } else {
      QN_CHECK(x.shape()[i] == normalized_shape[i - (x.dim() - k)], "layer_norm", "normalized_shape ", normalized_shape,
               " does not match the trailing dims of ", x.describe());
    }
  }
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    QN_CHECK(p->shape() == normalized_shape && p->dtype() == x.dtype(), "layer_norm", "weight and bias must be ",
             x.dtype(), normalized_shape, ", got ", p->describe());
  }
  const int64_t cols = normalized_shape.numel();
  const Tensor input = x.contiguous();
  LayerNormResult r{empty(x.shape(), x.options()), empty(leading, x.options()), empty(leading, x.options())};
  const Tensor w = weight.defined() ? weight.contiguous() : weight;
  const Tensor b = bias.defined() ? bias.contiguous() : bias;
  device.is_cuda() ? cuda::layer_norm(input, leading.numel(), cols, w, b, eps, r.out, r.mean, r.rstd)
                   : cpu::layer_norm(input, leading.numel(), cols, w, b, eps, r.out, r.mean, r.rstd);
  return r;
}

}  // namespace qn::kernels
