// SGD as PyTorch's torch.optim.SGD:
//   g = grad + weight_decay p
//   momentum: buf = g on the first step, then buf = momentum buf + (1 - dampening) g;
//             g = g + momentum buf (Nesterov) or g = buf
//   p -= lr g
#pragma once

#include "train/optimizer.h"

namespace qn::train {

struct SgdOptions {
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<ParamGroup> groups, const SgdOptions& options);

 private:
  void update(Tensor& p, const Tensor& grad, size_t group_index, const ParamGroup& group,
              std::vector<NamedTensor>& state) override;
  SgdOptions options_;
};

}  // namespace qn::train
