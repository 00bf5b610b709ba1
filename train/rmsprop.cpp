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
  Tensor square_avg = state_tensor(state, "square_avg", p);
  if (first && options_.tensorflow_style) square_avg.fill_(1.0);
  Tensor buf = options_.momentum > 0 ? state_tensor(state, "momentum_buffer", p) : Tensor();
  rmsprop_step_(p, grad, square_avg, buf,
                {.lr = group.lr,
                 .alpha = options_.alpha,
                 .eps = options_.eps,
                 .weight_decay = group.weight_decay,
                 .momentum = options_.momentum,
                 .tensorflow_style = options_.tensorflow_style});
}

}  // namespace qn::train
