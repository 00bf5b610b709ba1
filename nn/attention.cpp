#include "nn/attention.h"

#include <cmath>

#include "nn/init.h"

namespace qn::nn {

// fairseq's initialisation: q/k/v xavier_uniform with gain 1/sqrt(2), out_proj xavier_uniform, out_proj
// bias 0 (the q/k/v biases keep Linear's default).
MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& o) : Module("MultiheadAttention"), options(o) {
  QN_CHECK(o.num_heads_ > 0 && o.embed_dim_ % o.num_heads_ == 0, "MultiheadAttention", "embed_dim ", o.embed_dim_,
           " must be divisible by num_heads ", o.num_heads_);
  const LinearOptions projection = LinearOptions(o.embed_dim_, o.embed_dim_).bias(o.bias_).quant_noise(o.quant_noise_);
  k_proj = register_module("k_proj", std::make_shared<Linear>(projection));
  v_proj = register_module("v_proj", std::make_shared<Linear>(projection));
  q_proj = register_module("q_proj", std::make_shared<Linear>(projection));
  out_proj = register_module("out_proj", std::make_shared<Linear>(projection));
  for (Linear* p : {k_proj.get(), v_proj.get(), q_proj.get()}) init::xavier_uniform_(p->weight, 1.0 / std::sqrt(2.0));
  init::xavier_uniform_(out_proj->weight);
  if (out_proj->bias.defined()) init::zeros_(out_proj->bias);
}

Tensor MultiheadAttention::split_heads(const Tensor& x) const {
  const int64_t heads = options.num_heads_;
  return transpose(reshape(x, {x.size(0), x.size(1), heads, options.embed_dim_ / heads}), 1, 2);
}

Tensor MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const Tensor& key_padding_mask, bool causal) {
  QN_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3 && query.size(2) == options.embed_dim_ &&
               key.size(1) == value.size(1) && query.size(0) == key.size(0),
           "MultiheadAttention", "expected query (N, L, ", options.embed_dim_, ") and key/value (N, S, ",
           options.embed_dim_, "), got ", query.describe(), ", ", key.describe(), ", ", value.describe());
  AttentionOptions attention;
  attention.causal = causal;
  attention.dropout = options.dropout_;
  attention.training = is_training();
  if (key_padding_mask.defined()) {
    const Shape mask_shape{key.size(0), key.size(1)};
    QN_CHECK(key_padding_mask.shape() == mask_shape && key_padding_mask.dtype() == DType::u8, "MultiheadAttention",
             "key_padding_mask must be u8 (N, S) = (", key.size(0), ", ", key.size(1), "), got ",
             key_padding_mask.describe());
    attention.masked_out = key_padding_mask.view({key.size(0), 1, 1, key.size(1)});  // over heads and queries
  }
  const Tensor heads =
      scaled_dot_product_attention(split_heads(q_proj->forward(query)), split_heads(k_proj->forward(key)),
                                   split_heads(v_proj->forward(value)), attention);
  // (N, H, L, E / H) -> (N, L, E)
  const Tensor merged = reshape(transpose(heads, 1, 2), {query.size(0), query.size(1), options.embed_dim_});
  return out_proj->forward(merged);
}

}  // namespace qn::nn
