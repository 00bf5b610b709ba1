// Reverse-mode differentiation over the recorded graph.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace qn {

// d(outputs)/d(inputs), weighted by grad_outputs (ones for one-element outputs when omitted), without
// touching any tensor's .grad. Inputs that the outputs do not depend on get an undefined tensor.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false);

}  // namespace qn
