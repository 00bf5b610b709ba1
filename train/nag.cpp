#include "train/nag.h"

#include "autograd/ops.h"

namespace qn::train {

Nag::Nag(std::vector<ParamGroup> groups, double momentum) : Optimizer(std::move(groups)), momentum_(momentum) {
  QN_CHECK(momentum >= 0 && momentum < 1, "Nag", "momentum must lie in [0, 1), got ", momentum);
  for (const ParamGroup& g : this->groups()) initial_lr_.push_back(g.lr);
}

void Nag::update(Tensor& p, const Tensor& grad, size_t group_index, const ParamGroup& group,
                 std::vector<NamedTensor>& state) {
  // lr_old lives in the parameter's state (a scalar) so that a resumed run corrects the same way.
  Tensor lr_old = state_tensor(state, "lr_old", scalar_tensor(0.0, DType::f64));
  const bool first =
      !std::any_of(state.begin(), state.end(), [](const NamedTensor& t) { return t.name == "momentum_buffer"; });
  if (first) lr_old.fill_(initial_lr_[group_index]);
  const double correction = group.lr / lr_old.item<double>();
  Tensor buf = state_tensor(state, "momentum_buffer", p);
  nag_step_(p, grad, buf, kernels::NagStep{group.lr, momentum_, correction, group.weight_decay});
  lr_old.fill_(group.lr);
}

}  // namespace qn::train
