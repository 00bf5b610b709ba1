// Fused optimizer steps: each reads a parameter, its gradient and its state once and writes them back once, in one
// pass (one kernel on a GPU), instead of the ten or so elementwise passes the same update takes composed of ops.
// The formulas are in kernels/optimizer_math.h. The parameter and its state are contiguous and of one floating
// dtype (f32 or f64) on one device; the gradient is brought to the parameter's layout. A state tensor that a
// step does not use (SGD without momentum) is undefined.
#pragma once

#include "core/tensor.h"
#include "kernels/optimizer_math.h"

namespace qn::kernels {

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const AdamStep& step);
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStep& step);
void nag_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const NagStep& step);
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& momentum_buffer,
                  const RmsPropStep& step);

}  // namespace qn::kernels
