// Adaptive input and adaptive softmax (docs/MODELS.md, the language model), as fairseq's AdaptiveInput /
// AdaptiveSoftmax.
//
// The vocabulary is cut into bands at `cutoffs` (the last band ends at the vocabulary size); band i holds
// ids [cutoff_{i-1}, cutoff_i) at width dim / factor^i:
//   AdaptiveInput    embeddings.i.0  Embedding (band size, width), padding_idx as the model's (fairseq: every
//                                    band's row padding_idx, counted from the band's start, is zero and frozen)
//                    embeddings.i.1  Linear width -> dim, no bias (carries Quant-Noise)
//   AdaptiveSoftmax  head            scores the first band's words and one "cluster" per tail band;
//                                    tied: head.class_proj (dim -> clusters) next to band 0's table
//                    tail.i.0        Linear dim -> width (tied: band i+1's projection, transposed)
//                    tail.i.2        Linear width -> band size (tied: band i+1's table)
// log p(w) = log softmax(head)[w] for w in band 0, log softmax(head)[cluster i] + log softmax(tail i)[w - start]
// for w in tail band i. Tied weights are used as stored: fairseq builds the softmax without Quant-Noise.
#pragma once

#include <memory>
#include <vector>

#include "nn/container.h"
#include "nn/embedding.h"
#include "nn/linear.h"

namespace qn::models {

struct AdaptiveOptions {
  int64_t vocab_size = 0;
  int64_t dim = 0;               // the model's width: adaptive input's output, adaptive softmax's input
  std::vector<int64_t> cutoffs;  // increasing, below vocab_size
  double factor = 4.0;           // band i is dim / factor^i wide
  int64_t padding_idx = 1;
  double dropout = 0.0;               // adaptive softmax: on its input and inside each tail, in training
  nn::quant::QuantNoise quant_noise;  // adaptive input's projections

  // Band boundaries 0, cutoffs..., vocab_size; checks them.
  std::vector<int64_t> bands() const;
  int64_t band_width(size_t band) const;
};

class AdaptiveInput : public nn::Module {
 public:
  explicit AdaptiveInput(const AdaptiveOptions& options);
  // tokens (...) i64 in [0, vocab) -> (..., dim)
  Tensor forward(const Tensor& tokens) override;

  nn::Embedding& table(size_t band) const;
  nn::Linear& projection(size_t band) const;
  size_t num_bands() const { return bands_.size() - 1; }

  const AdaptiveOptions options;

 private:
  std::vector<int64_t> bands_;
  std::shared_ptr<nn::ModuleList<nn::Sequential>> embeddings_;
};

class AdaptiveSoftmax : public nn::Module {
 public:
  // tied: share the tables (and, with tie_projections, the projections) of this adaptive input.
  AdaptiveSoftmax(const AdaptiveOptions& options, std::shared_ptr<AdaptiveInput> tied, bool tie_projections);

  // hidden (M, dim) -> log-probabilities over the whole vocabulary (M, vocab).
  Tensor log_probs(const Tensor& hidden);
  // hidden (M, dim), targets (M) i64 -> the summed negative log-likelihood of the targets that are not
  // padding (fairseq's AdaptiveLoss): the head scores every row, tail i only the rows whose target is in
  // band i+1. Dropout applies in training.
  Tensor nll_sum(const Tensor& hidden, const Tensor& targets);

  const AdaptiveOptions options;

 private:
  Tensor head_logits(const Tensor& hidden);             // (M, dim) -> (M, cutoff_0 + tails)
  Tensor tail_logits(size_t tail, const Tensor& rows);  // (R, dim) -> (R, band size)

  std::vector<int64_t> bands_;
  std::shared_ptr<AdaptiveInput> tied_;
  bool tie_projections_;
  std::shared_ptr<nn::Linear> head_;                                          // untied: dim -> cutoff_0 + tails
  std::shared_ptr<nn::Linear> class_proj_;                                    // tied: dim -> tails
  std::vector<std::shared_ptr<nn::Linear>> tail_projections_, tail_outputs_;  // null where tied
};

}  // namespace qn::models
