// What each optimizer does to one element of a parameter, written once for the CPU loop (kernels/cpu/optimizer.cpp)
// and the CUDA kernels (kernels/cuda/optimizer.cu). What depends on the step (learning rate, bias corrections)
// arrives in the step's struct, from host scalars, so a fused step reads nothing back from the device. The
// parameter, its gradient and its state are of type T (f32 or f64); so is every product and sum of them.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/philox.h"  // QN_HOST_DEVICE

namespace qn::kernels {

// Adam and AdamW (torch.optim.Adam / AdamW), t being this parameter's step count:
//   Adam: g = grad + weight_decay p         AdamW: p = p (1 - lr weight_decay)
//   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
struct AdamStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false;                // AdamW
  double bias_correction1 = 1, bias_correction2 = 1;  // 1 - beta1^t, 1 - beta2^t
};

// SGD with momentum (torch.optim.SGD): g = grad + weight_decay p; buf = g at the first step, else
// momentum buf + (1 - dampening) g; p = p - lr (nesterov ? g + momentum buf : buf). Without momentum p = p - lr g.
struct SgdStep {
  double lr = 0.1, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first = false;  // the momentum buffer is filled, not updated
};

// fairseq's NAG, with the learning-rate correction c = lr / lr_old:
//   p = p (1 - lr weight_decay) + momentum^2 c buf - (1 + momentum) lr grad;  buf = momentum c buf - lr grad
struct NagStep {
  double lr = 0.1, momentum = 0.99, correction = 1, weight_decay = 0;
};

// RMSprop (torch.optim.RMSprop; tensorflow_style: TensorFlow's, as timm's RMSpropTF for EfficientNet):
//   g = grad + weight_decay p;  s = alpha s + (1 - alpha) g^2  (s starts at 1 in TensorFlow's style)
//   step = g / (sqrt(s) + eps)  (TensorFlow: g / sqrt(s + eps))
//   momentum: buf = momentum buf + step (TensorFlow: + lr step); p = p - lr buf (TensorFlow: p - buf); else p - lr step
struct RmsPropStep {
  double lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool tensorflow_style = false;
};

// Each formula takes the steps the same update takes composed of elementwise ops, in their order and with their
// roundings: a product or sum rounds alone, an "add with alpha" (x + alpha y) is one fused multiply-add. The CPU file
// is compiled without floating-point contraction so that the compiler fuses nothing else: the fused step is then
// the composed one bit for bit, and PyTorch's within its own rounding.
template <class T>
QN_HOST_DEVICE inline void adam_element(const AdamStep& s, T& p, T grad, T& m, T& v) {
  T g = grad;
  if (s.weight_decay != 0) {
    if (s.decoupled_weight_decay) {
      p = p * T(1 - s.lr * s.weight_decay);
    } else {
      g = g + p * T(s.weight_decay);
    }
  }
  m = std::fma(g, T(1 - s.beta1), m * T(s.beta1));
  v = std::fma(g * g, T(1 - s.beta2), v * T(s.beta2));
  const T denominator = std::sqrt(v) * T(1 / std::sqrt(s.bias_correction2)) + T(s.eps);
  p = std::fma(m / denominator, T(-s.lr / s.bias_correction1), p);
}

template <class T>
QN_HOST_DEVICE inline void sgd_element(const SgdStep& s, T& p, T grad, T* buf) {
  T g = s.weight_decay != 0 ? grad + p * T(s.weight_decay) : grad;
  if (buf != nullptr) {
    *buf = s.first ? g : std::fma(g, T(1 - s.dampening), *buf * T(s.momentum));
    g = s.nesterov ? g + *buf * T(s.momentum) : *buf;
  }
  p = std::fma(g, T(-s.lr), p);
}

template <class T>
QN_HOST_DEVICE inline void nag_element(const NagStep& s, T& p, T grad, T& buf) {
  if (s.weight_decay != 0) p = p * T(1 - s.lr * s.weight_decay);
  p = std::fma(buf, T(s.momentum * s.momentum * s.correction), p);
  p = std::fma(grad, T(-(1 + s.momentum) * s.lr), p);
  buf = std::fma(grad, T(-s.lr), buf * T(s.momentum * s.correction));
}

template <class T>
QN_HOST_DEVICE inline void rmsprop_element(const RmsPropStep& s, T& p, T grad, T& square_avg, T* buf) {
  const T g = s.weight_decay != 0 ? grad + p * T(s.weight_decay) : grad;
  square_avg = std::fma(g * g, T(1 - s.alpha), square_avg * T(s.alpha));
  const T step = s.tensorflow_style ? g / std::sqrt(square_avg + T(s.eps)) : g / (std::sqrt(square_avg) + T(s.eps));
  if (buf == nullptr) {
    p = std::fma(step, T(-s.lr), p);
  } else if (s.tensorflow_style) {
    *buf = std::fma(step, T(s.lr), *buf * T(s.momentum));
    p = p - *buf;
  } else {
    *buf = *buf * T(s.momentum) + step;
    p = std::fma(*buf, T(-s.lr), p);
  }
}

}  // namespace qn::kernels
