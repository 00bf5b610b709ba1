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
  // The step count is a host scalar (a CPU tensor, saved with the state): the bias corrections need no device read.
  Tensor step = state_tensor(state, "step", scalar_tensor(0.0, DType::f64));
  step.fill_(step.item<double>() + 1);
  const double t = step.item<double>();
  Tensor m = state_tensor(state, "exp_avg", p);
  Tensor v = state_tensor(state, "exp_avg_sq", p);
  adam_step_(p, grad, m, v,
             {.lr = group.lr,
              .beta1 = options_.beta1,
              .beta2 = options_.beta2,
              .eps = options_.eps,
              .weight_decay = group.weight_decay,
              .decoupled_weight_decay = options_.decoupled_weight_decay,
              .bias_correction1 = 1 - std::pow(options_.beta1, t),
              .bias_correction2 = 1 - std::pow(options_.beta2, t)});
}

}  // namespace qn::train
