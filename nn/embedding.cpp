#include "nn/embedding.h"

#include "nn/init.h"

namespace qn::nn {

// PyTorch's default: N(0, 1), the padding row zero.
Embedding::Embedding(const EmbeddingOptions& o)
    : QuantizableLayer("Embedding", quant::LayerKind::kEmbedding, o.quant_noise_), options(o) {
  QN_CHECK(o.num_ > 0 && o.dim_ > 0, "Embedding", "sizes must be positive, got ", o.num_, " x ", o.dim_);
  QN_CHECK(!o.padding_idx_ || (*o.padding_idx_ >= 0 && *o.padding_idx_ < o.num_), "Embedding", "padding_idx ",
           o.padding_idx_.value_or(0), " is not a row of ", o.num_);
  init_weight({o.num_, o.dim_});
  init::normal_(weight, 0.0, 1.0);
  if (o.padding_idx_) {
    NoGradGuard no_grad;
    weight.select(0, *o.padding_idx_).fill_(0);
  }
}

Tensor Embedding::forward(const Tensor& indices) {
  const std::optional<int64_t> padding = is_product_quantized() ? std::nullopt : options.padding_idx_;
  return finish(embedding(effective_weight(), indices, padding));
}

}  // namespace qn::nn
