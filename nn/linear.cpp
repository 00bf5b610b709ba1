#include "nn/linear.h"

#include <cmath>

#include "nn/init.h"

namespace qn::nn {

// PyTorch's defaults: weight kaiming_uniform(a = sqrt(5)), i.e. U(+-1/sqrt(in)); bias U(+-1/sqrt(in)).
Linear::Linear(const LinearOptions& o)
    : QuantizableLayer("Linear", quant::LayerKind::kLinear, o.quant_noise_), options(o) {
  QN_CHECK(o.in_features_ > 0 && o.out_features_ > 0, "Linear", "features must be positive, got ", o.in_features_,
           " -> ", o.out_features_);
  init_weight({o.out_features_, o.in_features_});
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (o.bias_) {
    bias = register_parameter("bias", empty({o.out_features_}));
    const double bound = 1.0 / std::sqrt(static_cast<double>(o.in_features_));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  QN_CHECK(x.dim() >= 1 && x.size(-1) == options.in_features_, "Linear", "expected input (..., ", options.in_features_,
           "), got ", x.describe());
  return finish(linear(x, effective_weight(), bias));
}

}  // namespace qn::nn
