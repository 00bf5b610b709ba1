// Anomaly detection, opt-in, as torch.autograd.detect_anomaly: while a DetectAnomaly lives, every op that
// records a graph checks its output for NaN, and every backward rule the gradients it produces for NaN and
// Inf, and the first bad one throws qn::Error naming the op and, when one of the op's inputs is a parameter
// the guard was given, the module that parameter belongs to. Forward outputs may hold -inf or inf by design
// (attention scores of masked positions), so forward checks NaN only. The checks read every value: a
// debugging mode, several times slower.
//
//   autograd::DetectAnomaly anomaly(model.named_parameters());
//   loss.backward();  // qn::Error: "anomaly: the backward of div produced NaN for its input 1 (decoder.fc1)..."
#pragma once

#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"

namespace qn::autograd {

class DetectAnomaly {
 public:
  // parameters: dotted names ("decoder.fc1.weight"); the module is the name without its last part.
  explicit DetectAnomaly(const std::vector<NamedTensor>& parameters = {});
  ~DetectAnomaly();
  DetectAnomaly(const DetectAnomaly&) = delete;
  DetectAnomaly& operator=(const DetectAnomaly&) = delete;
};

bool anomaly_detection_enabled();

// The engine's checks (no-ops unless enabled). inputs: the op's inputs (forward), or the autograd metadata of
// the inputs the backward rule produced gradients for.
void check_forward_output(const char* op, const Tensor& output, const std::vector<Tensor>& inputs);
void check_backward_grads(const std::string& op, const Tensor& grad_output, const std::vector<Tensor>& input_grads,
                          const std::vector<const AutogradMeta*>& inputs);

}  // namespace qn::autograd
