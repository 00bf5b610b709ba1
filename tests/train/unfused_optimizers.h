// The optimizer updates composed of elementwise ops, one pass per op, as the engine computed them before its
// fused steps (kernels/optimizer.h): the reference the fused steps are checked against, and the baseline their
// benchmark measures them against. Each takes a parameter, its gradient and its state and updates them in place.
#pragma once

#include <cmath>

#include "autograd/ops.h"
#include "kernels/optimizer_math.h"

namespace qn::testing {

inline void unfused_adam(Tensor& p, const Tensor& grad, Tensor& m, Tensor& v, const kernels::AdamStep& s) {
  NoGradGuard no_grad;
  Tensor g = grad;
  if (s.weight_decay != 0) {
    if (s.decoupled_weight_decay) {
      mul_(p, 1 - s.lr * s.weight_decay);
    } else {
      g = add(g, mul(p, s.weight_decay));
    }
  }
  mul_(m, s.beta1);
  add_(m, g, 1 - s.beta1);
  mul_(v, s.beta2);
  add_(v, mul(g, g), 1 - s.beta2);
  const Tensor denom = add(mul(sqrt(v), 1 / std::sqrt(s.bias_correction2)), s.eps);
  add_(p, div(m, denom), -s.lr / s.bias_correction1);
}

inline void unfused_sgd(Tensor& p, const Tensor& grad, Tensor& buf, const kernels::SgdStep& s) {
  NoGradGuard no_grad;
  Tensor g = s.weight_decay != 0 ? add(grad, mul(p, s.weight_decay)) : grad;
  if (buf.defined()) {
    if (s.first) {
      buf.copy_(g);
    } else {
      mul_(buf, s.momentum);
      add_(buf, g, 1 - s.dampening);
    }
    g = s.nesterov ? add(g, mul(buf, s.momentum)) : buf;
  }
  add_(p, g, -s.lr);
}

inline void unfused_nag(Tensor& p, const Tensor& grad, Tensor& buf, const kernels::NagStep& s) {
  NoGradGuard no_grad;
  if (s.weight_decay != 0) mul_(p, 1 - s.lr * s.weight_decay);
  add_(p, buf, s.momentum * s.momentum * s.correction);
  add_(p, grad, -(1 + s.momentum) * s.lr);
  mul_(buf, s.momentum * s.correction);
  add_(buf, grad, -s.lr);
}

inline void unfused_rmsprop(Tensor& p, const Tensor& grad, Tensor& square_avg, Tensor& buf,
                            const kernels::RmsPropStep& s) {
  NoGradGuard no_grad;
  const Tensor g = s.weight_decay != 0 ? add(grad, mul(p, s.weight_decay)) : grad;
  mul_(square_avg, s.alpha);
  add_(square_avg, mul(g, g), 1 - s.alpha);
  const Tensor denom = s.tensorflow_style ? sqrt(add(square_avg, s.eps)) : add(sqrt(square_avg), s.eps);
  const Tensor step = div(g, denom);
  if (!buf.defined()) {
    add_(p, step, -s.lr);
    return;
  }
  mul_(buf, s.momentum);
  if (s.tensorflow_style) {
    add_(buf, step, s.lr);
    add_(p, buf, -1.0);
  } else {
    add_(buf, step);
    add_(p, buf, -s.lr);
  }
}

}  // namespace qn::testing
