// Scaled dot-product attention, composed of recorded ops (its backward is theirs):
//   scores (..., L, S) = q (..., L, E) @ k^T * scale,  masked entries -> -inf,
//   weights = dropout(softmax(scores, -1)),  out (..., L, Ev) = weights @ v (..., S, Ev)
// On the CPU, 4-D f32/f64 operands that BLAS can read in place (kernels::fused_attention_applies), outside autocast,
// take the fused kernel (kernels/attention.h) instead: the same
// result up to rounding, the same dropout mask drawn, one recorded op whose backward is the kernel's.
#include "kernels/attention.h"

#include <cmath>
#include <limits>

#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"

namespace qn {
namespace {

// u8 (L, S): 1 where key j comes after query i. Made on the host and copied to the device once for the shape and
// device asked last (every layer of a step asks for the same one), not once a layer.
Tensor causal_mask(int64_t l, int64_t s, Device device) {
  thread_local Tensor last;
  if (last.defined() && last.device() == device && last.shape() == Shape{l, s}) return last;
  const Tensor rows = arange(0, static_cast<double>(l), 1, DType::f32).view({l, 1});
  const Tensor cols = arange(0, static_cast<double>(s), 1, DType::f32).view({1, s});
  last = kernels::compare(kernels::CompareOp::gt, cols, rows).to(device);
  return last;
}

Tensor fused_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                       double scale) {
  const Shape tile{q.size(0), q.size(1), q.size(2), k.size(2)};
  kernels::FusedAttention a;
  a.causal = options.causal;
  a.scale = scale;
  if (options.masked_out.defined()) a.masked_out = options.masked_out.expand(tile);
  QN_CHECK(options.dropout >= 0 && options.dropout <= 1, "scaled_dot_product_attention",
           "dropout must lie in [0, 1], got ", options.dropout);
  if (options.training && options.dropout > 0) {
    a.keep = keep_mask(tile, q.options(), options.dropout, options.gen);
    a.keep_scale = options.dropout < 1 ? 1.0 / (1.0 - options.dropout) : 0.0;
  }
  Tensor weights;
  Tensor out = kernels::fused_attention_forward(q, k, v, a, weights);
  if (!needs_graph({q, k, v})) return out;
  return record(
      "scaled_dot_product_attention", out, {q, k, v},
      [sq = SavedTensor(q), sk = SavedTensor(k), sv = SavedTensor(v), sw = SavedTensor(weights), a](const Tensor& g) {
        const kernels::AttentionGrads d =
            kernels::fused_attention_backward(g, sq.get(), sk.get(), sv.get(), sw.get(), a);
        return Grads{d.q, d.k, d.v};
      });
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  QN_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2 && q.size(-1) == k.size(-1) && k.size(-2) == v.size(-2),
           "scaled_dot_product_attention", "expected q (..., L, E), k (..., S, E), v (..., S, Ev), got ", q.describe(),
           ", ", k.describe(), ", ", v.describe());
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  constexpr AutocastPolicy kNarrow = AutocastPolicy::narrow;
  if (kernels::fused_attention_applies(q, k, v) && !autocasts(kNarrow, {&q, &k, &v})) {
    return fused_attention(q, k, v, options, scale);
  }
  Tensor scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  Tensor masked = options.masked_out;
  if (options.causal) {
    const Tensor future = causal_mask(q.size(-2), k.size(-2), q.device());
    masked = masked.defined() ? kernels::maximum(masked, future) : future;
  }
  if (masked.defined()) scores = masked_fill(scores, masked, -std::numeric_limits<double>::infinity());
  Tensor weights = softmax(scores, -1);
  if (options.dropout > 0) weights = dropout(weights, options.dropout, options.training, options.gen);
  return matmul(weights, v);
}

}  // namespace qn
