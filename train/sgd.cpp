#include "train/sgd.h"

#include "autograd/ops.h"

namespace qn::train {

Sgd::Sgd(std::vector<ParamGroup> groups, const SgdOptions& options) : Optimizer(std::move(groups)), options_(options) {
  QN_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), "Sgd",
           "Nesterov momentum needs momentum > 0 and no dampening");
}

void Sgd::update(Tensor& p, const Tensor& grad, size_t, const ParamGroup& group, std::vector<NamedTensor>& state) {
  Tensor g = group.weight_decay != 0 ? add(grad, mul(p, group.weight_decay)) : grad;
  if (options_.momentum != 0) {
    const bool first = state.empty();
    Tensor buf = state_tensor(state, "momentum_buffer", p);
    if (first) {
      buf.copy_(g);
    } else {
      mul_(buf, options_.momentum);
      add_(buf, g, 1 - options_.dampening);
    }
    g = options_.nesterov ? add(g, mul(buf, options_.momentum)) : buf;
  }
  add_(p, g, -group.lr);
}

}  // namespace qn::train
