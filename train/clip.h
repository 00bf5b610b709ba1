// Gradient-norm clipping as torch.nn.utils.clip_grad_norm_: the global L2 norm of all gradients; every gradient is
// scaled by min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping, a 0-d f64 tensor on the gradients'
// device: computed, compared and applied there, so clipping waits for nothing (read it when it is logged).
#pragma once

#include <vector>

#include "core/tensor.h"

namespace qn::train {

Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace qn::train
