// Convolution and pooling. Forward and backward both run kernels (kernels/conv.h, kernels/pool.h).
//   conv2d:  dx = conv2d_backward_input(g, w),  dw = conv2d_backward_weight(g, x),  db = sum of g over N, H, W
//   max:     g goes to the argmax of each window;  avg / adaptive: g spread evenly over each window
#include "autograd/ops/op_support.h"
#include "kernels/reduce.h"

namespace qn {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  constexpr AutocastPolicy kNarrow = AutocastPolicy::narrow;
  if (autocasts(kNarrow, {&x, &weight, &bias})) {
    return conv2d(autocast(x, kNarrow), autocast(weight, kNarrow), autocast(bias, kNarrow), params);
  }
  Tensor out = kernels::conv2d(x, weight, bias, params);
  if (!needs_graph({x, weight, bias})) return out;
  const bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  return record("conv2d", out, {x, weight, bias},
                [sx = SavedTensor(gw ? x : Tensor()), sw = SavedTensor(gx ? weight : Tensor()), x_shape = x.shape(),
                 w_shape = weight.shape(), params, gx, gw, gb](const Tensor& g) {
                  return Grads{gx ? kernels::conv2d_backward_input(g, sw.get(), x_shape, params) : Tensor(),
                               gw ? kernels::conv2d_backward_weight(g, sx.get(), w_shape, params) : Tensor(),
                               gb ? kernels::sum(g, {0, 2, 3}) : Tensor()};
                });
}

Tensor max_pool2d(const Tensor& x, const Pool2dParams& params) {
  if (is_half(x)) return to_dtype(max_pool2d(to_dtype(x, DType::f32), params), x.dtype());
  kernels::MaxPoolResult r = kernels::max_pool2d(x, params);
  if (!needs_graph({x})) return r.out;
  return record("max_pool2d", r.out, {x}, [si = SavedTensor(r.indices), shape = x.shape()](const Tensor& g) {
    return Grads{kernels::max_pool2d_backward(g, si.get(), shape)};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params) {
  if (is_half(x)) return to_dtype(avg_pool2d(to_dtype(x, DType::f32), params), x.dtype());
  return record("avg_pool2d", kernels::avg_pool2d(x, params), {x}, [shape = x.shape(), params](const Tensor& g) {
    return Grads{kernels::avg_pool2d_backward(g, shape, params)};
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  if (is_half(x)) return to_dtype(adaptive_avg_pool2d(to_dtype(x, DType::f32), out_h, out_w), x.dtype());
  return record(
      "adaptive_avg_pool2d", kernels::adaptive_avg_pool2d(x, out_h, out_w), {x},
      [shape = x.shape()](const Tensor& g) { return Grads{kernels::adaptive_avg_pool2d_backward(g, shape)}; });
}

}  // namespace qn
