// Adam and AdamW as PyTorch's torch.optim.Adam / AdamW (t counts this parameter's steps):
//   Adam:  g = grad + weight_decay p          AdamW: p *= 1 - lr weight_decay;  g = grad
//   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#pragma once

#include "train/optimizer.h"

namespace qn::train {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool decoupled_weight_decay = false;  // true: AdamW
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options);

 private:
  void update(Tensor& p, const Tensor& grad, size_t group_index, const ParamGroup& group,
              std::vector<NamedTensor>& state) override;
  AdamOptions options_;
};

// AdamW: Adam with decoupled weight decay (PyTorch's default weight_decay for AdamW is 0.01).
inline AdamOptions adamw_options(double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) {
  return {beta1, beta2, eps, true};
}

}  // namespace qn::train
