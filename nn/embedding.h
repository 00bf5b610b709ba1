// Embedding: rows of a table.  indices (...) i64 -> (..., dim); weight (num, dim).
// The padding_idx row starts at zero and receives no gradient (as torch.nn.Embedding).
#pragma once

#include <memory>
#include <optional>

#include "nn/module.h"
#include "nn/quant/quant_noise.h"

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

class Embedding : public Module {
 public:
  explicit Embedding(const EmbeddingOptions& options);
  Tensor forward(const Tensor& indices) override;

  // The table this forward uses: the parameter, or its noised/quantized form in training.
  Tensor effective_weight();
  quant::WeightNoise* noise() { return noise_.get(); }

  const EmbeddingOptions options;
  Tensor weight;

 private:
  std::unique_ptr<quant::WeightNoise> noise_;  // null without Quant-Noise
};

}  // namespace qn::nn
