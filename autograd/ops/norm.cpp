// LayerNorm over the trailing normalized_shape dims, viewed as (rows, cols):
//   xhat = (x - mean) rstd,  out = xhat w + b
//   dw = sum_rows(g xhat),  db = sum_rows(g),  gh = g w
//   dx = rstd (gh - mean_cols(gh) - xhat mean_cols(gh xhat))
#include "autograd/node.h"
#include "autograd/ops.h"
#include "kernels/elementwise.h"
#include "kernels/layer_norm.h"
#include "kernels/reduce.h"

namespace qn {

using autograd::needs_graph;
using autograd::record;
using autograd::SavedTensor;
using Grads = std::vector<Tensor>;

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  kernels::LayerNormResult r = kernels::layer_norm(x, normalized_shape, weight, bias, eps);
  if (!needs_graph({x, weight, bias})) return r.out;
  const int64_t cols = normalized_shape.numel();
  const bool has_weight = weight.defined(), has_bias = bias.defined();
  return record("layer_norm", r.out, {x, weight, bias},
                [sx = SavedTensor(x), sw = SavedTensor(weight), smean = SavedTensor(r.mean), srstd = SavedTensor(r.rstd),
                 normalized_shape, cols, has_weight, has_bias](const Tensor& g) {
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
                  Tensor dw = has_weight ? kernels::sum(kernels::mul(g2, xhat), {0}).reshape(normalized_shape) : Tensor();
                  Tensor db = has_bias ? kernels::sum(g2, {0}).reshape(normalized_shape) : Tensor();
                  return Grads{dx, dw, db};
                });
}

}  // namespace qn
