#include "train/clip.h"

#include <cmath>

#include "autograd/ops.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace qn::train {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm) {
  QN_CHECK(max_norm > 0, "clip_grad_norm_", "max_norm must be positive, got ", max_norm);
  double squares = 0;
  for (const Tensor& p : parameters) {
    const Tensor& g = p.grad();
    if (g.defined()) squares += kernels::sum(kernels::mul(g, g)).item<double>();
  }
  const double norm = std::sqrt(squares);
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1) {
    NoGradGuard no_grad;
    for (const Tensor& p : parameters) {
      Tensor g = p.grad();
      if (g.defined()) mul_(g, coefficient);
    }
  }
  return norm;
}

}  // namespace qn::train
