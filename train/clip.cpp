#include "train/clip.h"

#include "autograd/ops.h"
#include "kernels/elementwise.h"
#include "kernels/join.h"
#include "kernels/reduce.h"

namespace qn::train {

Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm) {
  QN_CHECK(max_norm > 0, "clip_grad_norm_", "max_norm must be positive, got ", max_norm);
  NoGradGuard no_grad;
  // Each gradient's sum of squares in its own dtype, then their total in f64 (P) -> ().
  std::vector<Tensor> squares;
  for (const Tensor& p : parameters) {
    const Tensor& g = p.grad();
    if (g.defined()) squares.push_back(kernels::sum(kernels::mul(g, g)).to(DType::f64).reshape({1}));
  }
  if (squares.empty()) {  // no gradient: norm 0, where the parameters are
    return scalar_tensor(0.0, TensorOptions(DType::f64, parameters.empty() ? Device::cpu() : parameters[0].device()));
  }
  const Tensor norm = kernels::sqrt(kernels::sum(kernels::cat(squares, 0)));
  // min(1, max_norm / (norm + 1e-6)): multiplying by 1 leaves a gradient under the limit exactly as it was.
  const Tensor coefficient = kernels::clamp(
      kernels::div(scalar_tensor(max_norm, norm.options()), kernels::binary(kernels::BinaryOp::add, norm, 1e-6)),
      std::nullopt, 1.0);
  for (const Tensor& p : parameters) {
    Tensor g = p.grad();
    if (g.defined()) mul_(g, coefficient.to(g.dtype()));
  }
  return norm;
}

}  // namespace qn::train
