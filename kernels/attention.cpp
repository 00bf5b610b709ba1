// Fused attention entry points: shapes checked, outputs allocated in the heads-inner layout, then the CPU loop.
#include "kernels/attention.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/device_check.h"

namespace qn::kernels {
namespace {

// Whether BLAS can read each (n, h) matrix of t in place: unit stride along the last dim and rows at least a row
// apart (a broadcast gradient can have rows of stride 0).
bool gemm_readable(const Tensor& t) {
  return (t.size(3) <= 1 || t.stride(3) == 1) && (t.size(2) <= 1 || t.stride(2) >= t.size(3));
}

// An empty tensor shaped (N, H, rows, cols) and stored as (N, rows, H, cols): merging the heads of the output, or
// of a gradient flowing back through split_heads, is then a view.
Tensor empty_heads_inner(const Tensor& like, int64_t rows, int64_t cols) {
  return empty({like.size(0), rows, like.size(1), cols}, like.options()).transpose(1, 2);
}

}  // namespace

bool fused_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v) {
  const Device device = q.device();
  const bool floating = q.dtype() == DType::f32 || q.dtype() == DType::f64;
  return !device.is_cuda() && k.device() == device && v.device() == device && floating && k.dtype() == q.dtype() &&
         v.dtype() == q.dtype() && q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && k.size(0) == q.size(0) &&
         v.size(0) == q.size(0) && k.size(1) == q.size(1) && v.size(1) == q.size(1) && k.size(3) == q.size(3) &&
         v.size(2) == k.size(2) && gemm_readable(q) && gemm_readable(k) && gemm_readable(v) && q.numel() > 0 &&
         k.numel() > 0 && v.numel() > 0;
}

Tensor fused_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const FusedAttention& a,
                               Tensor& weights) {
  QN_CHECK(fused_attention_applies(q, k, v), "attention", "the fused kernel does not take ", q.describe(), ", ",
           k.describe(), ", ", v.describe());
  const Shape tile{q.size(0), q.size(1), q.size(2), k.size(2)};
  QN_CHECK(!a.keep.defined() || (a.keep.shape() == tile && a.keep.is_contiguous() && a.keep.dtype() == DType::u8),
           "attention", "the dropout mask must be u8 ", tile, ", got ", a.keep.describe());
  QN_CHECK(!a.masked_out.defined() || (a.masked_out.shape() == tile && a.masked_out.dtype() == DType::u8), "attention",
           "the mask must be a u8 view ", tile, ", got ", a.masked_out.describe());
  if (a.masked_out.defined()) common_device("attention", {&q, &a.masked_out});
  if (a.keep.defined()) common_device("attention", {&q, &a.keep});
  weights = empty(tile, q.options());
  Tensor out = empty_heads_inner(q, q.size(2), v.size(3));
  cpu::attention_forward(q, k, v, a, weights, out);
  return out;
}

AttentionGrads fused_attention_backward(const Tensor& g_in, const Tensor& q, const Tensor& k, const Tensor& v,
                                        const Tensor& weights, const FusedAttention& a) {
  const Tensor g = gemm_readable(g_in) ? g_in : g_in.contiguous();
  AttentionGrads grads{empty_heads_inner(q, q.size(2), q.size(3)), empty_heads_inner(k, k.size(2), k.size(3)),
                       empty_heads_inner(v, v.size(2), v.size(3))};
  cpu::attention_backward(g, q, k, v, weights, a, grads.q, grads.k, grads.v);
  return grads;
}

}  // namespace qn::kernels
