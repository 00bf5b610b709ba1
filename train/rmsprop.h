// RMSProp, in PyTorch's form or TensorFlow's (EfficientNet's recipe, as timm's RMSpropTF):
//   g = grad + weight_decay p;  sq = alpha sq + (1 - alpha) g^2
//   PyTorch:    sq starts at 0;  d = sqrt(sq) + eps;   buf = momentum buf + g / d;       p -= lr buf
//   TensorFlow: sq starts at 1;  d = sqrt(sq + eps);   buf = momentum buf + lr g / d;    p -= buf
// Without momentum both take p -= lr g / d.
#pragma once

#include "train/optimizer.h"

namespace qn::train {

struct RmsPropOptions {
  double alpha = 0.99;  // TensorFlow's "decay" (EfficientNet: 0.9)
  double eps = 1e-8;    // EfficientNet: 1e-3
  double momentum = 0.0;
  bool tensorflow_style = false;
};

class RmsProp : public Optimizer {
 public:
  RmsProp(std::vector<ParamGroup> groups, const RmsPropOptions& options);

 private:
  void update(Tensor& p, const Tensor& grad, size_t group_index, const ParamGroup& group,
              std::vector<NamedTensor>& state) override;
  RmsPropOptions options_;
};

}  // namespace qn::train
