#include "nn/dropout.h"

namespace qn::nn {

Dropout::Dropout(double probability, Generator* gen) : Module("Dropout"), p(probability), gen_(gen) {
  QN_CHECK(p >= 0 && p <= 1, "Dropout", "probability must lie in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), gen_); }

DropPath::DropPath(double probability, Generator* gen) : Module("DropPath"), p(probability), gen_(gen) {
  QN_CHECK(p >= 0 && p < 1, "DropPath", "probability must lie in [0, 1), got ", p);
}

// One keep/drop draw per sample: a (N, 1, ..., 1) mask of 0 or 1/(1-p), broadcast over the sample.
Tensor DropPath::forward(const Tensor& x) {
  if (!is_training() || p == 0) return x;
  QN_CHECK(x.dim() >= 1, "DropPath", "expected a batch (N, ...), got ", x.describe());
  Shape mask_shape = Shape::filled(x.dim(), 1);
  mask_shape[0] = x.size(0);
  const Tensor mask = dropout(ones(mask_shape, x.options()), p, true, gen_);
  return mul(x, mask);
}

}  // namespace qn::nn
