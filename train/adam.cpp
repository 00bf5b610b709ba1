#include "train/adam.h"

#include <cmath>

#include "autograd/ops.h"

namespace qn::train {

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Optimizer(std::move(groups)), options_(options) {
  QN_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1 && options.eps >= 0,
           "Adam", "betas must lie in [0, 1) and eps be non-negative");
}

void Adam::update(Tensor& p, const Tensor& grad, size_t, const ParamGroup& group, std::vector<NamedTensor>& state) {
  Tensor step = state_tensor(state, "step", scalar_tensor(0.0, DType::f64));
  step.fill_(step.item<double>() + 1);
  const double t = step.item<double>();
  Tensor g = grad;
  if (group.weight_decay != 0) {
    if (options_.decoupled_weight_decay) {
      mul_(p, 1 - group.lr * group.weight_decay);
    } else {
      g = add(g, mul(p, group.weight_decay));
    }
  }
  Tensor m = state_tensor(state, "exp_avg", p);
  Tensor v = state_tensor(state, "exp_avg_sq", p);
  mul_(m, options_.beta1);
  add_(m, g, 1 - options_.beta1);
  mul_(v, options_.beta2);
  add_(v, mul(g, g), 1 - options_.beta2);
  const double bias_correction1 = 1 - std::pow(options_.beta1, t);
  const double bias_correction2 = 1 - std::pow(options_.beta2, t);
  const Tensor denom = add(mul(sqrt(v), 1 / std::sqrt(bias_correction2)), options_.eps);
  add_(p, div(m, denom), -group.lr / bias_correction1);
}

}  // namespace qn::train
