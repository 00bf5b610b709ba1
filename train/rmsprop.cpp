#include "train/rmsprop.h"

#include "autograd/ops.h"

namespace qn::train {

RmsProp::RmsProp(std::vector<ParamGroup> groups, const RmsPropOptions& options)
    : Optimizer(std::move(groups)), options_(options) {
  QN_CHECK(options.alpha >= 0 && options.alpha < 1 && options.eps >= 0 && options.momentum >= 0, "RmsProp",
           "alpha must lie in [0, 1), eps and momentum be non-negative");
}

void RmsProp::update(Tensor& p, const Tensor& grad, size_t, const ParamGroup& group, std::vector<NamedTensor>& state) {
  const bool first = state.empty();
  const Tensor g = group.weight_decay != 0 ? add(grad, mul(p, group.weight_decay)) : grad;
  Tensor square_avg = state_tensor(state, "square_avg", p);
  if (first && options_.tensorflow_style) square_avg.fill_(1.0);
  mul_(square_avg, options_.alpha);
  add_(square_avg, mul(g, g), 1 - options_.alpha);
  const Tensor denom =
      options_.tensorflow_style ? sqrt(add(square_avg, options_.eps)) : add(sqrt(square_avg), options_.eps);
  const Tensor step = div(g, denom);
  if (options_.momentum > 0) {
    Tensor buf = state_tensor(state, "momentum_buffer", p);
    mul_(buf, options_.momentum);
    if (options_.tensorflow_style) {
      add_(buf, step, group.lr);
      add_(p, buf, -1.0);
    } else {
      add_(buf, step);
      add_(p, buf, -group.lr);
    }
  } else {
    add_(p, step, -group.lr);
  }
}

}  // namespace qn::train
