#include "train/sgd.h"

#include "autograd/ops.h"

namespace qn::train {

Sgd::Sgd(std::vector<ParamGroup> groups, const SgdOptions& options) : Optimizer(std::move(groups)), options_(options) {
  QN_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), "Sgd",
           "Nesterov momentum needs momentum > 0 and no dampening");
}

void Sgd::update(Tensor& p, const Tensor& grad, size_t, const ParamGroup& group, std::vector<NamedTensor>& state) {
  const bool first = state.empty();
  Tensor buf = options_.momentum != 0 ? state_tensor(state, "momentum_buffer", p) : Tensor();
  sgd_step_(p, grad, buf,
            {.lr = group.lr,
             .momentum = options_.momentum,
             .dampening = options_.dampening,
             .weight_decay = group.weight_decay,
             .nesterov = options_.nesterov,
             .first = first});
}

}  // namespace qn::train
