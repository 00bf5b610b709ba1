// Matrix products.  out (..., M, N) = a (..., M, K) @ b (..., K, N)
//   da = g @ b^T (summed over dims b broadcast),  db = a^T @ g (summed over dims a broadcast)
// 1-D operands are promoted with differentiable unsqueeze/squeeze, so only the N-D rule is written here.
#include "kernels/matmul.h"

#include "autograd/ops/op_support.h"

namespace qn {

namespace {

// db for a (..., M, K) against a shared b (K, N): one GEMM over all rows, a (rows, K)^T @ g (rows, N).
Tensor shared_rhs_grad(const Tensor& a, const Tensor& g) {
  const Tensor rows = a.reshape({-1, a.size(-1)});
  return kernels::matmul(rows.t(), g.reshape({-1, g.size(-1)}));
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
  const Tensor y = matmul(x, transpose(weight, 0, 1));
  return bias.defined() ? add(y, bias) : y;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  QN_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0), "bmm",
           "expected (B, M, K) and (B, K, N) with one B, got ", a.describe(), " and ", b.describe());
  return matmul(a, b);
}

}  // namespace qn
