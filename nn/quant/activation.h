// Activation quantization (docs/METHOD.md, activation quantization): fake-quantizes a tensor — fairseq attaches one to
// the output of every scalar-quantized layer — with its own (s, z), recomputed from the detached input every
// update_step forwards (default 1000). In training each element is replaced by its quantized value with
// probability p (fairseq's quantize_model_ uses p = 0: outputs are only clamped to the representable
// range); in eval every element is quantized. The gradient passes straight through inside the range.
#pragma once

#include "nn/module.h"
#include "nn/quant/scalar.h"

namespace qn::nn::quant {

struct ActivationQuantizerOptions {
  int bits = 8;
  Observer observer = Observer::kHistogram;
  int64_t update_step = 1000;
  double p = 0.0;                  // training-time replacement rate
  Generator* generator = nullptr;  // nullptr: the default generator
};

class ActivationQuantizer : public Module {
 public:
  explicit ActivationQuantizer(const ActivationQuantizerOptions& options);
  Tensor forward(const Tensor& x) override { return apply(x, is_training()); }
  Tensor apply(const Tensor& x, bool training);

  const ActivationQuantizerOptions options;
  const ScalarFakeQuantizer& quantizer() const { return quantizer_; }

 private:
  ScalarFakeQuantizer quantizer_;
};

}  // namespace qn::nn::quant
