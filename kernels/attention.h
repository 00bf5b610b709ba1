// Fused attention on the CPU: for each (n, h), the two batched products with the scale, masks, softmax and
// dropout between them done on one L x S tile while it is in cache, instead of five passes over (N, H, L, S)
// tensors in memory. autograd's scaled_dot_product_attention runs it where it applies (fused_attention_applies)
// and the composed ops elsewhere; both give the same result up to rounding, the same dropout mask included (a query
// whose keys are all masked gets NaN weights and a zero score gradient on both).
//
//   forward   P (N, H, L, S) = softmax(q k^T * scale, masked -> -inf)     q (N, H, L, E), k (N, H, S, E)
//             out (N, H, L, Ev) = (P * keep / (1 - p)) v                  v (N, H, S, Ev)
//   backward  dPd = g v^T,  dv = Pd^T g,  dP = dPd * keep / (1 - p),
//             dS = P * (dP - rowsum(dP * P)),  dq = dS k * scale,  dk = dS^T q * scale
#pragma once

#include "core/tensor.h"

namespace qn::kernels {

struct FusedAttention {
  Tensor masked_out;  // u8 (N, H, L, S) view (broadcast strides allowed), or undefined
  bool causal = false;
  double scale = 1.0;
  Tensor keep;              // u8 (N, H, L, S) contiguous dropout mask, or undefined for none
  double keep_scale = 1.0;  // 1 / (1 - p)
};

// Whether the fused kernel takes these operands: on the CPU (or the simulated device), f32 or f64, 4-D with one N
// and H, each (n, h) matrix readable by BLAS in place (unit stride along the last dim, rows at least a row apart).
bool fused_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v);

// Returns out (N, H, L, Ev) (stored as (N, L, H, Ev), so that merging the heads is a view) and writes the softmax
// weights P, contiguous (N, H, L, S), into `weights`.
Tensor fused_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const FusedAttention& a,
                               Tensor& weights);

struct AttentionGrads {
  Tensor q, k, v;  // each stored as (N, L or S, H, E), shaped as the operand
};
AttentionGrads fused_attention_backward(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v,
                                        const Tensor& weights, const FusedAttention& a);

}  // namespace qn::kernels
