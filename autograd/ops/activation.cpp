// Activations. Shapes: x, out and g all share one shape. On 16-bit floats the backward rules compute in f32 and round
// the gradient once, as PyTorch's fused activation backward kernels do (a chain of 16-bit ops would round at every
// step): they read their saved tensors and g widened, and narrow dx to g's dtype.
#include <cmath>
#include <numbers>

#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"
#include "kernels/half_precision.h"

namespace qn {

// out = max(x, 0);  dx = g where out > 0
Tensor relu(const Tensor& x) {
  Tensor out = kernels::relu(x);
  if (!needs_graph({x})) return out;
  return record("relu", out, {x}, [so = SavedTensor(out)](const Tensor& g) {
    return Grads{kernels::binary(kernels::BinaryOp::relu_backward, g, so.get())};
  });
}

// out = x Phi(x);  dx = g (Phi(x) + x phi(x)),  Phi(x) = (1 + erf(x / sqrt 2)) / 2,  phi(x) = e^(-x^2/2) / sqrt(2 pi)
Tensor gelu(const Tensor& x) {
  Tensor out = kernels::gelu(x);
  if (!needs_graph({x})) return out;
  return record("gelu", out, {x}, [sx = SavedTensor(x)](const Tensor& g) {
    return Grads{kernels::binary(kernels::BinaryOp::gelu_backward, kernels::widened(g), kernels::widened(sx.get()))
                     .to(g.dtype())};
  });
}

// out = x (1 + t) / 2,  t = tanh(u),  u = sqrt(2/pi) (x + 0.044715 x^3)
// dx = g ((1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2)
Tensor gelu_tanh(const Tensor& x) {
  Tensor out = kernels::gelu_tanh(x);
  if (!needs_graph({x})) return out;
  return record("gelu_tanh", out, {x}, [sx = SavedTensor(x)](const Tensor& g) {
    constexpr double kC = 0.044715;
    const double k = std::sqrt(2.0 / std::numbers::pi);
    const Tensor v = kernels::widened(sx.get());
    const Tensor v2 = mul(v, v);
    const Tensor t = tanh(mul(add(v, mul(mul(v2, v), kC)), k));
    const Tensor left = mul(add(t, 1.0), 0.5);
    const Tensor sech2 = add(neg(mul(t, t)), 1.0);
    const Tensor right = mul(mul(mul(v, sech2), add(mul(v2, 3 * kC), 1.0)), 0.5 * k);
    return Grads{mul(kernels::widened(g), add(left, right)).to(g.dtype())};
  });
}

// out = x s,  s = sigmoid(x);  dx = g s (1 + x (1 - s))
Tensor silu(const Tensor& x) {
  Tensor out = kernels::silu(x);
  if (!needs_graph({x})) return out;
  return record("silu", out, {x}, [sx = SavedTensor(x)](const Tensor& g) {
    return Grads{kernels::binary(kernels::BinaryOp::silu_backward, kernels::widened(g), kernels::widened(sx.get()))
                     .to(g.dtype())};
  });
}

// dx = g out (1 - out)
Tensor sigmoid(const Tensor& x) {
  Tensor out = kernels::sigmoid(x);
  if (!needs_graph({x})) return out;
  return record("sigmoid", out, {x}, [so = SavedTensor(out)](const Tensor& g) {
    return Grads{kernels::binary(kernels::BinaryOp::sigmoid_backward, kernels::widened(g), kernels::widened(so.get()))
                     .to(g.dtype())};
  });
}

// dx = g (1 - out^2)
Tensor tanh(const Tensor& x) {
  Tensor out = kernels::tanh(x);
  if (!needs_graph({x})) return out;
  return record("tanh", out, {x}, [so = SavedTensor(out)](const Tensor& g) {
    const Tensor t = kernels::widened(so.get());
    return Grads{mul(kernels::widened(g), add(neg(mul(t, t)), 1.0)).to(g.dtype())};
  });
}

}  // namespace qn
