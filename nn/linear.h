// Linear: y = x W^T + b.  x (..., in) -> (..., out); weight (out, in), bias (out).
#pragma once

#include <memory>

#include "nn/module.h"
#include "nn/quant/quant_noise.h"

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

class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Tensor forward(const Tensor& x) override;

  // The weight this forward uses: the parameter, or its noised/quantized form in training.
  Tensor effective_weight();
  quant::WeightNoise* noise() { return noise_.get(); }

  const LinearOptions options;
  Tensor weight;
  Tensor bias;  // undefined without bias

 private:
  std::unique_ptr<quant::WeightNoise> noise_;  // null without Quant-Noise
};

}  // namespace qn::nn
