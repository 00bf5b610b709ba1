// Dropout with a Philox mask:  keep = u >= p (u uniform per element),  out = keep ? x / (1 - p) : 0
//   dx = keep ? g / (1 - p) : 0
#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"

namespace qn {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  QN_CHECK(p >= 0 && p <= 1, "dropout", "probability must lie in [0, 1], got ", p);
  if (!training || p == 0) return x;
  const Tensor keep = keep_mask(x.shape(), x.options(), p, gen);
  const double scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
  Tensor out = kernels::masked_scale(x, keep, scale);
  if (!needs_graph({x})) return out;
  return record("dropout", out, {x}, [sk = SavedTensor(keep), scale](const Tensor& g) {
    return Grads{kernels::masked_scale(g, sk.get(), scale)};
  });
}

}  // namespace qn
