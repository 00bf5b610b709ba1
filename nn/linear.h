// Linear: y = x W^T + b.  x (..., in) -> (..., out); weight (out, in), bias (out).
#pragma once

#include "nn/module.h"

namespace qn::nn {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  int64_t in_features_;
  int64_t out_features_;
  bool bias_ = true;
};

class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Tensor forward(const Tensor& x) override;

  const LinearOptions options;
  Tensor weight;
  Tensor bias;  // undefined without bias
};

}  // namespace qn::nn
