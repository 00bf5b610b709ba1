// Dropout (elements) and DropPath (whole samples: stochastic depth, EfficientNet's drop-connect).
// Both are identity in eval; in training the kept values are scaled by 1 / (1 - p).
#pragma once

#include "nn/module.h"

namespace qn::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  const double p;

 private:
  Generator* gen_;
};

// x (N, ...): each sample's whole tensor is dropped with probability p.
class DropPath : public Module {
 public:
  explicit DropPath(double p, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  const double p;

 private:
  Generator* gen_;
};

}  // namespace qn::nn
