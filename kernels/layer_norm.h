// LayerNorm forward over the trailing dims given by normalized_shape:
//   y = (x - mean) * rstd * weight + bias,   rstd = 1 / sqrt(var + eps)   (biased variance)
// mean and rstd (shape: x's leading dims) are returned for the backward pass.
#pragma once

#include "core/tensor.h"

namespace qn::kernels {

struct LayerNormResult {
  Tensor out;   // x.shape
  Tensor mean;  // leading dims of x
  Tensor rstd;  // leading dims of x
};

// weight and bias have shape normalized_shape, or are undefined (no affine transform).
LayerNormResult layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                           double eps = 1e-5);

}  // namespace qn::kernels
