// LayerNorm over the trailing normalized_shape dims, viewed as (rows, cols):
//   xhat = (x - mean) rstd,  out = xhat w + b
//   dw = sum_rows(g xhat),  db = sum_rows(g),  gh = g w
//   dx = rstd (gh - mean_cols(gh) - xhat mean_cols(gh xhat))
#include "autograd/ops/op_support.h"
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "kernels/layer_norm.h"
#include "kernels/reduce.h"

namespace qn {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  constexpr AutocastPolicy kF32 = AutocastPolicy::f32;
  if (autocasts(kF32, {&x, &weight, &bias})) {
    return layer_norm(autocast(x, kF32), normalized_shape, autocast(weight, kF32), autocast(bias, kF32), eps);
  }
  if (is_half(x)) {
    const auto wide = [](const Tensor& t) { return t.defined() ? to_dtype(t, DType::f32) : t; };
    return to_dtype(layer_norm(wide(x), normalized_shape, wide(weight), wide(bias), eps), x.dtype());
  }
  kernels::LayerNormResult r = kernels::layer_norm(x, normalized_shape, weight, bias, eps);
  if (!needs_graph({x, weight, bias})) return r.out;
  const int64_t cols = normalized_shape.numel();
  const bool has_weight = weight.defined(), has_bias = bias.defined();
  return record("layer_norm", r.out, {x, weight, bias},
                [sx = SavedTensor(x), sw = SavedTensor(weight), smean = SavedTensor(r.mean),
                 srstd = SavedTensor(r.rstd), normalized_shape, cols, has_weight, has_bias](const Tensor& g) {
                  const Tensor& xv = sx.get();
                  const Tensor x2 = xv.reshape({-1, cols});
                  const Tensor g2 = g.reshape({-1, cols});
                  const Tensor mean = smean.get().reshape({-1, 1});
                  const Tensor rstd = srstd.get().reshape({-1, 1});
                  const Tensor xhat = kernels::mul(kernels::sub(x2, mean), rstd);
                  const Tensor gh = has_weight ? kernels::mul(g2, sw.get().reshape({1, cols})) : g2;
                  const Tensor centered = kernels::sub(gh, kernels::mean(gh, {1}, true));
                  const Tensor projection = kernels::mul(xhat, kernels::mean(kernels::mul(gh, xhat), {1}, true));
                  const Tensor dx = kernels::mul(rstd, kernels::sub(centered, projection)).reshape(xv.shape());
                  Tensor dw =
                      has_weight ? kernels::sum(kernels::mul(g2, xhat), {0}).reshape(normalized_shape) : Tensor();
                  Tensor db = has_bias ? kernels::sum(g2, {0}).reshape(normalized_shape) : Tensor();
                  return Grads{dx, dw, db};
                });
}

}  // namespace qn

namespace qn {

// BatchNorm per channel c over the other dims (count m = N H W):
//   training: mean, var = batch statistics (biased var),  xhat = (x - mean) rstd,  out = xhat w + b
//     dx = rstd / m (m gh - sum(gh) - xhat sum(gh xhat)),  gh = g w
//   eval: mean, var = running statistics,  dx = g w rstd
//   both: dw = sum(g xhat),  db = sum(g)
//   with an activation, out = act(xhat w + b), and g above is g act'(xhat w + b)
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum, double eps, const kernels::SumOverProcesses& sum_over_processes,
                  kernels::NormActivation activation) {
  // The running statistics are updated in place: they stay as they are (f32 buffers).
  constexpr AutocastPolicy kF32 = AutocastPolicy::f32;
  if (autocasts(kF32, {&x, &weight, &bias})) {
    return batch_norm(autocast(x, kF32), running_mean, running_var, autocast(weight, kF32), autocast(bias, kF32),
                      training, momentum, eps, sum_over_processes, activation);
  }
  QN_CHECK(x.dim() == 2 || x.dim() == 4, "batch_norm", "expected (N, C) or (N, C, H, W), got ", x.describe());
  const int64_t channels = x.size(1);
  for (const Tensor* t : std::initializer_list<const Tensor*>{&running_mean, &running_var, &weight, &bias}) {
    QN_CHECK(!t->defined() || (t->shape() == Shape{channels} && t->dtype() == x.dtype()), "batch_norm",
             "per-channel tensors must be ", x.dtype(), "[", channels, "], got ", t->describe());
  }
  QN_CHECK(training || (running_mean.defined() && running_var.defined()), "batch_norm",
           "eval mode needs running_mean and running_var");
  Tensor mean, var;
  if (training) {
    kernels::BatchNormMoments moments = kernels::batch_norm_moments(x, sum_over_processes);
    const double count = moments.count;  // of the whole batch when synchronized
    QN_CHECK(count > 1, "batch_norm", "training needs more than one value per channel, got ", x.describe());
    mean = moments.mean;
    var = moments.var;
    if (running_mean.defined()) {
      NoGradGuard no_grad;
      const Tensor unbiased = kernels::binary(kernels::BinaryOp::mul, var, count / (count - 1));
      running_mean.copy_(kernels::add(kernels::binary(kernels::BinaryOp::mul, running_mean, 1 - momentum),
                                      kernels::binary(kernels::BinaryOp::mul, mean, momentum)));
      running_var.copy_(kernels::add(kernels::binary(kernels::BinaryOp::mul, running_var, 1 - momentum),
                                     kernels::binary(kernels::BinaryOp::mul, unbiased, momentum)));
    }
  } else {
    mean = running_mean.clone();
    var = running_var.clone();
  }
  const Tensor rstd = kernels::rsqrt(kernels::binary(kernels::BinaryOp::add, var, eps));
  Tensor out = kernels::batch_norm_forward(x, mean, rstd, weight, bias, activation);
  if (!needs_graph({x, weight, bias})) return out;
  const bool has_weight = weight.defined(), has_bias = bias.defined();
  const bool activated = activation != kernels::NormActivation::none;
  return record(activated ? "batch_norm_silu" : "batch_norm", out, {x, weight, bias},
                [sx = SavedTensor(x), smean = SavedTensor(mean), srstd = SavedTensor(rstd), sw = SavedTensor(weight),
                 sb = activated ? SavedTensor(bias) : SavedTensor(Tensor()), training, has_weight, has_bias,
                 sum_over_processes, activation](const Tensor& g) {
                  kernels::BatchNormGrads grads =
                      kernels::batch_norm_backward(g, sx.get(), smean.get(), srstd.get(), sw.get(), training,
                                                   has_weight, has_bias, sum_over_processes, activation, sb.get());
                  return Grads{grads.dx, grads.dweight, grads.dbias};
                });
}

}  // namespace qn
