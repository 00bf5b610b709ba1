// What every op definition in this folder uses (internal: not part of the public API).
#pragma once

#include <utility>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace qn {

using autograd::needs_graph;
using autograd::record;
using autograd::SavedTensor;
using Grads = std::vector<Tensor>;  // a backward rule's result: one gradient per op input
using autograd::autocast;
using autograd::AutocastPolicy;
using autograd::autocasts;

// 16-bit floats (f16, bf16). The ops PyTorch runs as one fused kernel on them (softmax, the norms, the losses,
// pooling) compute here in f32 between two recorded casts: one rounding of the result, one of each gradient.
inline bool is_half(const Tensor& x) { return x.defined() && (x.dtype() == DType::f16 || x.dtype() == DType::bf16); }

// Whether a and b are floating tensors of different dtypes, which the binary ops promote (ops/cast.cpp).
bool promotes(const Tensor& a, const Tensor& b);
// a and b in the dtype PyTorch's promotion gives them: the wider (f16 with bf16: f32), except that a 0-dim tensor
// beside one with dims takes that one's dtype. Through recorded casts.
std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b);

}  // namespace qn
