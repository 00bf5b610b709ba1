// Gradient-norm clipping as torch.nn.utils.clip_grad_norm_: the global L2 norm of all gradients; when it
// exceeds max_norm every gradient is scaled by max_norm / (norm + 1e-6). Returns the norm before clipping.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace qn::train {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace qn::train
