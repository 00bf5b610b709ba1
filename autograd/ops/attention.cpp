// Scaled dot-product attention, composed of recorded ops (its backward is theirs):
//   scores (..., L, S) = q (..., L, E) @ k^T * scale,  masked entries -> -inf,
//   weights = dropout(softmax(scores, -1)),  out (..., L, Ev) = weights @ v (..., S, Ev)
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

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  QN_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2 && q.size(-1) == k.size(-1) && k.size(-2) == v.size(-2),
           "scaled_dot_product_attention", "expected q (..., L, E), k (..., S, E), v (..., S, Ev), got ", q.describe(),
           ", ", k.describe(), ", ", v.describe());
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
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
