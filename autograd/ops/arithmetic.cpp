// Arithmetic: forward by the elementwise kernels, backward beside it. Broadcasting ops reduce each
// gradient back to its input's shape with sum_to. Shapes: a, b broadcast to out; g has out's shape.
#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"
#include "kernels/optimizer.h"
#include "kernels/reduce.h"

namespace qn {

namespace {

Tensor zero_like_scalar(const Tensor& t) { return scalar_tensor(0.0, t.options()); }

// 1 where lo <= x <= hi (either bound optional), as u8.
Tensor inside(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  Tensor mask = ones(x.shape(), TensorOptions(DType::u8, x.device()));
  if (lo) mask = kernels::mul(mask, kernels::compare(kernels::CompareOp::ge, x, *lo));
  if (hi) mask = kernels::mul(mask, kernels::compare(kernels::CompareOp::le, x, *hi));
  return mask;
}

// sum_to(g * other, shape): the gradient of a product's operand of `shape`. When that operand is a per-row scale
// (shape: g's leading dims, then ones, as squeeze-and-excitation's (N, C, 1, 1)) and nothing records, it is the
// rows' dot products, without the product tensor in memory.
Tensor product_sum_to(const Tensor& g, const Tensor& other, const Shape& shape) {
  const int dims = g.dim();
  int lead = dims;  // g's dims that shape keeps; ones after them
  bool per_row = static_cast<int>(shape.size()) == dims;
  if (per_row) {
    while (lead > 0 && shape[lead - 1] == 1) --lead;
    for (int i = 0; i < lead; ++i) per_row = per_row && shape[i] == g.size(i);
  }
  if (!per_row || lead == 0 || lead == dims || other.shape() != g.shape() || other.dtype() != g.dtype() ||
      needs_graph({g, other})) {
    return sum_to(mul(g, other), shape);
  }
  const int64_t rows = shape.numel();
  const int64_t length = rows == 0 ? 0 : g.numel() / rows;
  return kernels::row_dots(g.reshape({rows, length}), other.reshape({rows, length})).reshape(shape);
}

}  // namespace

// out = a + b;  da = sum_to(g), db = sum_to(g)
Tensor add(const Tensor& a, const Tensor& b) {
  if (promotes(a, b)) {
    const auto [pa, pb] = promoted(a, b);
    return add(pa, pb);
  }
  return record("add", kernels::add(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(g, sb)};
  });
}

// out = a - b;  da = sum_to(g), db = -sum_to(g)
Tensor sub(const Tensor& a, const Tensor& b) {
  if (promotes(a, b)) {
    const auto [pa, pb] = promoted(a, b);
    return sub(pa, pb);
  }
  return record("sub", kernels::sub(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), neg(sum_to(g, sb))};
  });
}

// out = a * b;  da = sum_to(g * b), db = sum_to(g * a)
Tensor mul(const Tensor& a, const Tensor& b) {
  if (promotes(a, b)) {
    const auto [pa, pb] = promoted(a, b);
    return mul(pa, pb);
  }
  Tensor out = kernels::mul(a, b);
  if (!needs_graph({a, b})) return out;
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("mul", out, {a, b},
                [sa = SavedTensor(gb ? a : Tensor()), sb = SavedTensor(ga ? b : Tensor()), shape_a = a.shape(),
                 shape_b = b.shape(), ga, gb](const Tensor& g) {
                  return Grads{ga ? product_sum_to(g, sb.get(), shape_a) : Tensor(),
                               gb ? product_sum_to(g, sa.get(), shape_b) : Tensor()};
                });
}

// out = a / b;  da = sum_to(g / b), db = sum_to(-g * out / b)
Tensor div(const Tensor& a, const Tensor& b) {
  if (promotes(a, b)) {
    const auto [pa, pb] = promoted(a, b);
    return div(pa, pb);
  }
  Tensor out = kernels::div(a, b);
  if (!needs_graph({a, b})) return out;
  return record(
      "div", out, {a, b},
      [sb = SavedTensor(b), so = SavedTensor(out), shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
        const Tensor ga = div(g, sb.get());
        return Grads{sum_to(ga, shape_a), sum_to(neg(mul(ga, so.get())), shape_b)};
      });
}

// out = a ^ b;  da = sum_to(g * b * a^(b-1)), db = sum_to(g * out * log(a))
Tensor pow(const Tensor& a, const Tensor& b) {
  if (promotes(a, b)) {
    const auto [pa, pb] = promoted(a, b);
    return pow(pa, pb);
  }
  Tensor out = kernels::pow(a, b);
  if (!needs_graph({a, b})) return out;
  const bool gb = b.requires_grad();
  return record("pow", out, {a, b},
                [sa = SavedTensor(a), sb = SavedTensor(b), so = SavedTensor(gb ? out : Tensor()), shape_a = a.shape(),
                 shape_b = b.shape(), gb](const Tensor& g) {
                  const Tensor& x = sa.get();
                  const Tensor& e = sb.get();
                  Tensor ga = sum_to(mul(g, mul(e, pow(x, sub(e, ones({}, e.options()))))), shape_a);
                  Tensor grad_b = gb ? sum_to(mul(g, mul(so.get(), log(x))), shape_b) : Tensor();
                  return Grads{ga, grad_b};
                });
}

// out = a + s;  da = g
Tensor add(const Tensor& a, double b) {
  return record("add", kernels::binary(kernels::BinaryOp::add, a, b), {a}, [](const Tensor& g) { return Grads{g}; });
}

// out = a * s;  da = g * s
Tensor mul(const Tensor& a, double b) {
  return record("mul", kernels::binary(kernels::BinaryOp::mul, a, b), {a},
                [b](const Tensor& g) { return Grads{mul(g, b)}; });
}

// out = x ^ p;  dx = g * p * x^(p-1)
Tensor pow(const Tensor& x, double exponent) {
  Tensor out = kernels::binary(kernels::BinaryOp::pow, x, exponent);
  if (!needs_graph({x})) return out;
  return record("pow", out, {x}, [sx = SavedTensor(x), exponent](const Tensor& g) {
    return Grads{mul(g, mul(pow(sx.get(), exponent - 1), exponent))};
  });
}

// out = -x;  dx = -g
Tensor neg(const Tensor& x) {
  return record("neg", kernels::neg(x), {x}, [](const Tensor& g) { return Grads{neg(g)}; });
}

// out = e^x;  dx = g * out
Tensor exp(const Tensor& x) {
  Tensor out = kernels::exp(x);
  if (!needs_graph({x})) return out;
  return record("exp", out, {x}, [so = SavedTensor(out)](const Tensor& g) { return Grads{mul(g, so.get())}; });
}

// out = ln x;  dx = g / x
Tensor log(const Tensor& x) {
  Tensor out = kernels::log(x);
  if (!needs_graph({x})) return out;
  return record("log", out, {x}, [sx = SavedTensor(x)](const Tensor& g) { return Grads{div(g, sx.get())}; });
}

// out = sqrt(x);  dx = g / (2 out)
Tensor sqrt(const Tensor& x) {
  Tensor out = kernels::sqrt(x);
  if (!needs_graph({x})) return out;
  return record("sqrt", out, {x},
                [so = SavedTensor(out)](const Tensor& g) { return Grads{div(g, mul(so.get(), 2.0))}; });
}

// out = x^(-1/2);  dx = -g out^3 / 2
Tensor rsqrt(const Tensor& x) {
  Tensor out = kernels::rsqrt(x);
  if (!needs_graph({x})) return out;
  return record("rsqrt", out, {x},
                [so = SavedTensor(out)](const Tensor& g) { return Grads{mul(mul(g, pow(so.get(), 3.0)), -0.5)}; });
}

// out = |x|;  dx = g * sign(x), with sign(0) = 0 as in PyTorch
Tensor abs(const Tensor& x) {
  Tensor out = kernels::abs(x);
  if (!needs_graph({x})) return out;
  return record("abs", out, {x}, [sx = SavedTensor(x)](const Tensor& g) {
    const Tensor& v = sx.get();
    const Tensor positive = kernels::compare(kernels::CompareOp::gt, v, 0.0).to(v.dtype());
    const Tensor negative = kernels::compare(kernels::CompareOp::lt, v, 0.0).to(v.dtype());
    return Grads{mul(g, sub(positive, negative))};
  });
}

// out = min(max(x, lo), hi);  dx = g where lo <= x <= hi, else 0
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  Tensor out = kernels::clamp(x, lo, hi);
  if (!needs_graph({x})) return out;
  return record("clamp", out, {x}, [sx = SavedTensor(x), lo, hi](const Tensor& g) {
    return Grads{kernels::where(inside(sx.get(), lo, hi), g, zero_like_scalar(g))};
  });
}

// out = c ? a : b;  da = sum_to(c ? g : 0), db = sum_to(c ? 0 : g)
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  if (promotes(a, b)) {
    const auto [pa, pb] = promoted(a, b);
    return where(condition, pa, pb);
  }
  Tensor out = kernels::where(condition, a, b);
  if (!needs_graph({a, b})) return out;
  return record("where", out, {a, b},
                [sc = SavedTensor(condition), shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
                  const Tensor zero = zero_like_scalar(g);
                  return Grads{sum_to(kernels::where(sc.get(), g, zero), shape_a),
                               sum_to(kernels::where(sc.get(), zero, g), shape_b)};
                });
}

// out = mask ? value : x;  dx = mask ? 0 : g
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  QN_CHECK(broadcast_shapes(mask.shape(), x.shape(), "masked_fill") == x.shape(), "masked_fill", "mask ",
           mask.describe(), " must broadcast to ", x.describe());
  Tensor out = kernels::where(mask, scalar_tensor(value, x.options()), x);
  if (!needs_graph({x})) return out;
  return record("masked_fill", out, {x}, [sm = SavedTensor(mask)](const Tensor& g) {
    return Grads{kernels::where(sm.get(), zero_like_scalar(g), g)};
  });
}

Tensor& add_(Tensor& self, const Tensor& other, double alpha) {
  self.check_inplace("add_");
  kernels::add_scaled_out(self, other, alpha, self);  // one rounding, as PyTorch's add_(other, alpha=...)
  return self;
}

Tensor& mul_(Tensor& self, const Tensor& other) {
  self.check_inplace("mul_");
  kernels::binary_out(kernels::BinaryOp::mul, self, other, self);
  return self;
}

Tensor& mul_(Tensor& self, double value) { return mul_(self, scalar_tensor(value, self.options())); }

void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const kernels::AdamStep& step) {
  param.check_inplace("adam_step_");
  kernels::adam_step(param, grad, exp_avg, exp_avg_sq, step);
}

void sgd_step_(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const kernels::SgdStep& step) {
  param.check_inplace("sgd_step_");
  kernels::sgd_step(param, grad, momentum_buffer, step);
}

void nag_step_(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const kernels::NagStep& step) {
  param.check_inplace("nag_step_");
  kernels::nag_step(param, grad, momentum_buffer, step);
}

void rmsprop_step_(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& momentum_buffer,
                   const kernels::RmsPropStep& step) {
  param.check_inplace("rmsprop_step_");
  kernels::rmsprop_step(param, grad, square_avg, momentum_buffer, step);
}

}  // namespace qn
