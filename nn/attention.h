// Multi-head attention with separate q/k/v/out projections, named as fairseq names them (q_proj, k_proj,
// v_proj, out_proj), batch-first:
//   query (N, L, E), key and value (N, S, E) -> (N, L, E)
//   heads: each projection is split into H heads of E / H; attention per head; heads concatenated; out_proj.
// Masks: key_padding_mask (N, S) u8, 1 at padded keys; causal masks keys after each query.
#pragma once

#include "nn/linear.h"
#include "nn/module.h"

namespace qn::nn {

struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  MultiheadAttentionOptions& dropout(double p) {
    dropout_ = p;
    return *this;
  }
  MultiheadAttentionOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  MultiheadAttentionOptions& quant_noise(const quant::QuantNoise& noise) {
    quant_noise_ = noise;
    return *this;
  }
  int64_t embed_dim_;
  int64_t num_heads_;
  double dropout_ = 0.0;  // on the attention weights, in training
  bool bias_ = true;
  quant::QuantNoise quant_noise_;  // on the four projections (fairseq's quant_noise wraps each)
};

class MultiheadAttention : public Module {
 public:
  explicit MultiheadAttention(const MultiheadAttentionOptions& options);
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& key_padding_mask = {},
                 bool causal = false);
  // Self-attention without masks.
  Tensor forward(const Tensor& x) override { return forward(x, x, x); }

  const MultiheadAttentionOptions options;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;

 private:
  Tensor split_heads(const Tensor& x) const;  // (N, T, E) -> (N, H, T, E / H)
};

}  // namespace qn::nn
