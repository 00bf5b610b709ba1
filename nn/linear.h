// Linear: y = x W^T + b.  x (..., in) -> (..., out); weight (out, in), bias (out).
#pragma once

#include "nn/quantizable.h"

namespace qn::nn {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  LinearOptions& quant_noise(const quant::QuantNoise& noise) {
    quant_noise_ = noise;
    return *this;
  }
  int64_t in_features_;
  int64_t out_features_;
  bool bias_ = true;
  quant::QuantNoise quant_noise_;
};

// weight / bias / effective_weight() / quantize(): see QuantizableLayer.
class Linear : public QuantizableLayer {
 public:
  explicit Linear(const LinearOptions& options);
  Tensor forward(const Tensor& x) override;

  const LinearOptions options;
};

}  // namespace qn::nn
