// NAG as fairseq defines it (fairseq/optim/nag.py; the LM recipe's optimizer). With buf starting at 0 and
// lr_old the group's previous learning rate (its initial one at first), per update:
//   p *= 1 - lr weight_decay
//   p += momentum^2 (lr / lr_old) buf - (1 + momentum) lr grad
//   buf = momentum (lr / lr_old) buf - lr grad
#pragma once

#include "train/optimizer.h"

namespace qn::train {

class Nag : public Optimizer {
 public:
  Nag(std::vector<ParamGroup> groups, double momentum);

 private:
  void update(Tensor& p, const Tensor& grad, size_t group_index, const ParamGroup& group,
              std::vector<NamedTensor>& state) override;
  double momentum_;
  std::vector<double> initial_lr_;  // lr_old before a group's first step
};

}  // namespace qn::train
