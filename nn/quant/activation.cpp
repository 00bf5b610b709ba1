#include "nn/quant/activation.h"

namespace qn::nn::quant {

ActivationQuantizer::ActivationQuantizer(const ActivationQuantizerOptions& o)
    : Module("ActivationQuantizer"), options(o), quantizer_(o.bits, o.observer, o.update_step) {
  QN_CHECK(o.p >= 0 && o.p <= 1, "ActivationQuantizer", "p must lie in [0, 1], got ", o.p);
  // Dim 0 of an activation is the batch, not a channel.
  QN_CHECK(o.observer != Observer::kPerChannel, "ActivationQuantizer",
           "the per-channel observer is for weights; use min-max or histogram for activations");
}

Tensor ActivationQuantizer::apply(const Tensor& x, bool training) {
  return quantizer_.apply(x, training ? options.p : 1.0, options.generator);
}

}  // namespace qn::nn::quant
