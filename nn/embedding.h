// Embedding: rows of a table.  indices (...) i64 -> (..., dim); weight (num, dim).
// The padding_idx row starts at zero and receives no gradient (as torch.nn.Embedding).
#pragma once

#include <optional>

#include "nn/quantizable.h"

namespace qn::nn {

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim) : num_(num_embeddings), dim_(embedding_dim) {}
  EmbeddingOptions& padding_idx(int64_t index) {
    padding_idx_ = index;
    return *this;
  }
  EmbeddingOptions& quant_noise(const quant::QuantNoise& noise) {
    quant_noise_ = noise;
    return *this;
  }
  int64_t num_;
  int64_t dim_;
  std::optional<int64_t> padding_idx_;
  quant::QuantNoise quant_noise_;
};

// weight / effective_weight() / quantize(): see QuantizableLayer. Once product-quantized the padding row
// is quantized and trained like any other (fairseq's PQEmbedding has no padding_idx; kept for parity).
class Embedding : public QuantizableLayer {
 public:
  explicit Embedding(const EmbeddingOptions& options);
  Tensor forward(const Tensor& indices) override;

  const EmbeddingOptions options;
};

}  // namespace qn::nn
