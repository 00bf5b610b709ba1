// 16-bit floats (f16, bf16) are storage types here (core/half.h): an op on them computes in f32 and rounds its
// result once, as PyTorch's CPU kernels do. The entry points run the f32 kernel on widened operands and narrow
// the result; a device kernel of its own for a 16-bit type, where one pays, replaces that per op.
#pragma once

#include "core/tensor.h"

namespace qn::kernels {

inline bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }

// x in f32 when it is a 16-bit float (exact), else x itself.
// (An undefined tensor, an absent bias, stays undefined.)
inline Tensor widened(const Tensor& x) { return x.defined() && is_half(x.dtype()) ? x.to(DType::f32) : x; }

}  // namespace qn::kernels
