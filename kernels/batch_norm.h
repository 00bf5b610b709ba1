// BatchNorm over (N, C) or (N, C, H, W), per channel c, in a few passes over the data (x contiguous):
//   moments    mean_c and the biased variance var_c of the channel's N*H*W values (two passes, f64 sums)
//   forward    y = (x - mean_c) * rstd_c * w_c + b_c   (one pass; w, b may be undefined)
//   backward   training (mean and rstd from the batch, so they depend on x), with M = N*H*W:
//                dx = w rstd (g - sum(g) / M - (x - mean) rstd^2 sum(g (x - mean)) / M)
//              eval (running statistics, constants):  dx = w rstd g
//              dw = rstd sum(g (x - mean)),  db = sum(g)            (two passes)
// Per-channel tensors are (C) in x's dtype.
#pragma once

#include "core/tensor.h"

namespace qn::kernels {

struct BatchNormMoments {
  Tensor mean;  // (C)
  Tensor var;   // (C), biased
};
BatchNormMoments batch_norm_moments(const Tensor& x);

Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                          const Tensor& bias);

struct BatchNormGrads {
  Tensor dx, dweight, dbias;  // dweight / dbias undefined unless asked for
};
BatchNormGrads batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& weight, bool training, bool weight_grad, bool bias_grad);

}  // namespace qn::kernels
