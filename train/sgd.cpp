#include "train/sgd.h"

#include "autograd/ops.h"

namespace qn::train {

Sgd::Sgd(std::vector<ParamGroup> groups, const SgdOptions& options) : Optimizer(std::move(groups)), options_(options) {
  QN_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), "Sgd",
           "Nesterov momentum needs momentum > 0 and no dampening");
}

void Sgd::update(Tensor& p, const Tensor& grad, size_t, const ParamGroup& group, std::vector<NamedTensor>& state) {
  kernels::SgdStep s;
  s.lr = group.lr;
  s.momentum = options_.momentum;
  s.dampening = options_.dampening;
  s.weight_decay = group.weight_decay;
  s.nesterov = options_.nesterov;
  s.first = state.empty();
  Tensor buf = options_.momentum != 0 ? state_tensor(state, "momentum_buffer", p) : Tensor();
  sgd_step_(p, grad, buf, s);
}

}  // namespace qn::train
