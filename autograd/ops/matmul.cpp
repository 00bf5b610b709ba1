// Matrix products.  out (..., M, N) = a (..., M, K) @ b (..., K, N)
//   da = g @ b^T (summed over dims b broadcast),  db = a^T @ g (summed over dims a broadcast)
// 1-D operands are promoted with differentiable unsqueeze/squeeze, so only the N-D rule is written here.
#include "kernels/matmul.h"

#include "autograd/ops/op_support.h"
#include "kernels/reduce.h"

namespace qn {

namespace {

// db for a (..., M, K) against a shared b (K, N): one GEMM over all rows, a (rows, K)^T @ g (rows, N).
Tensor shared_rhs_grad(const Tensor& a, const Tensor& g) {
  const Tensor rows = a.reshape({-1, a.size(-1)});
  return kernels::matmul(rows.t(), g.reshape({-1, g.size(-1)}));
}

// y (..., out) = x (..., in) W^T (out, in) + b (out), on x's rows (M, in):
//   dx = g W,  dW (out, in) = g^T x,  db = sum of g's rows
// Recorded as one op so that dW comes out in W's own layout (through matmul(x, W^T) it came out as W^T's, and
// adopting it as W's gradient cost a transposing copy) and the bias rides in the GEMM (kernels::linear).
Tensor linear_on_rows(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const Tensor rows = x.reshape({-1, weight.size(1)});
  Shape shape = x.shape();
  shape[static_cast<int>(shape.size()) - 1] = weight.size(0);
  const Tensor out = kernels::linear(rows, weight, bias).view(shape);
  if (!needs_graph({x, weight, bias})) return out;
  const bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  return record("linear", out, {x, weight, bias},
                [sr = SavedTensor(gw ? rows : Tensor()), sw = SavedTensor(gx ? weight : Tensor()), x_shape = x.shape(),
                 gx, gw, gb](const Tensor& g) {
                  const Tensor g_rows = g.reshape({-1, g.size(-1)});
                  Tensor dx, dw, db;
                  if (gx) dx = kernels::matmul(g_rows, sw.get()).view(x_shape);
                  if (gw) dw = kernels::matmul(g_rows.transpose(0, 1), sr.get());
                  if (gb) db = kernels::sum(g_rows, {0});
                  return Grads{dx, dw, db};
                });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  constexpr AutocastPolicy kNarrow = AutocastPolicy::narrow;
  if (autocasts(kNarrow, {&a, &b})) return matmul(autocast(a, kNarrow), autocast(b, kNarrow));
  if (a.dim() == 1 && b.dim() == 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  Tensor out = kernels::matmul(a, b);
  if (!needs_graph({a, b})) return out;
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("matmul", out, {a, b},
                [sa = SavedTensor(gb ? a : Tensor()), sb = SavedTensor(ga ? b : Tensor()), shape_a = a.shape(),
                 shape_b = b.shape(), ga, gb](const Tensor& g) {
                  Tensor da, db;
                  if (ga) da = sum_to(kernels::matmul(g, sb.get().transpose(-1, -2)), shape_a);
                  if (gb) {
                    const Tensor& av = sa.get();
                    db = shape_b.size() == 2 && av.dim() > 2
                             ? shared_rhs_grad(av, g)
                             : sum_to(kernels::matmul(av.transpose(-1, -2), g), shape_b);
                  }
                  return Grads{da, db};
                });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  constexpr AutocastPolicy kNarrow = AutocastPolicy::narrow;
  if (autocasts(kNarrow, {&x, &weight, &bias})) {
    return linear(autocast(x, kNarrow), autocast(weight, kNarrow), autocast(bias, kNarrow));
  }
  // On 16-bit floats the product and the bias add are one rounding, as PyTorch's addmm: computed in f32.
  if (bias.defined() && x.dtype() == weight.dtype() && x.dtype() == bias.dtype() &&
      (x.dtype() == DType::bf16 || x.dtype() == DType::f16)) {
    const DType half = x.dtype();
    const AutocastGuard no_autocast(std::nullopt);  // it would narrow the f32 operands again
    return to_dtype(linear(to_dtype(x, DType::f32), to_dtype(weight, DType::f32), to_dtype(bias, DType::f32)), half);
  }
  const bool floating = x.dtype() == DType::f32 || x.dtype() == DType::f64;
  if (floating && x.dim() >= 1 && weight.dim() == 2 && x.size(-1) == weight.size(1) && weight.dtype() == x.dtype() &&
      (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0) && bias.dtype() == x.dtype()))) {
    return linear_on_rows(x, weight, bias);
  }
  const Tensor y = matmul(x, transpose(weight, 0, 1));
  return bias.defined() ? add(y, bias) : y;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  QN_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0), "bmm",
           "expected (B, M, K) and (B, K, N) with one B, got ", a.describe(), " and ", b.describe());
  return matmul(a, b);
}

}  // namespace qn
