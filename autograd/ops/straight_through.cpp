// Straight-through estimator:  out = value  (x's shape; treated as a constant)
//   dx = g            without pass
//   dx = g * pass     with pass (e.g. 0 for weights outside a quantizer's clamp range)
#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"

namespace qn {

Tensor straight_through(const Tensor& x, const Tensor& value, const Tensor& pass) {
  QN_CHECK(value.shape() == x.shape() && value.dtype() == x.dtype(), "straight_through",
           "the value must have the input's shape and dtype: ", x.describe(), " vs ", value.describe());
  QN_CHECK(!pass.defined() || pass.shape() == x.shape(), "straight_through", "pass must have the input's shape ",
           x.shape(), ", got ", pass.shape());
  Tensor out = value.detach();
  if (!needs_graph({x})) return out;
  return record("straight_through", out, {x}, [sp = SavedTensor(pass)](const Tensor& g) {
    const Tensor p = sp.get();
    return Grads{p.defined() ? kernels::binary(kernels::BinaryOp::mul, g, p.to(g.dtype())) : g};
  });
}

}  // namespace qn
