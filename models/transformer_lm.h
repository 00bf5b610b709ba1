// Transformer language model, fairseq's transformer_lm family (docs/MODELS.md, the language model): a decoder-only
// Transformer over scaled token embeddings plus sinusoidal positions, with plain tied/untied output embeddings or
// adaptive input and adaptive softmax.
//
// Parameter names are fairseq's, so its checkpoints map one to one:
//   decoder.embed_tokens.weight                      plain embeddings (or decoder.embed_tokens.embeddings.*,
//                                                    adaptive input, see models/adaptive.h)
//   decoder.quant_noise.weight                       with Quant-Noise and plain embeddings: fairseq's extra
//                                                    bias-free d x d Linear after the embedding (docs/METHOD.md, where
//                                                    the noise goes)
//   decoder.layers.L.self_attn.{k,v,q,out}_proj      attention projections
//   decoder.layers.L.self_attn_layer_norm, fc1, fc2, final_layer_norm
//   decoder.layer_norm                               final LayerNorm (pre-LN models without no_decoder_final_norm)
//   decoder.output_projection.weight                 untied plain output
//   decoder.adaptive_softmax.*                       adaptive softmax
// Each layer: pre-LN  x + drop(attn(LN(x))), then x + drop(fc2(drop_act(act(fc1(LN(x))))));
//             post-LN LN(x + drop(attn(x))), then LN(x + drop(fc2(...(x)))).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/adaptive.h"
#include "nn/attention.h"
#include "nn/norm.h"

namespace qn::models {

enum class FeedForwardActivation { kRelu, kGelu };

struct TransformerLMConfig {
  int64_t vocab_size = 32000;
  int64_t layers = 6;
  int64_t dim = 512;
  int64_t heads = 8;
  int64_t ffn_dim = 2048;
  int64_t max_positions = 1024;  // longest sequence (fairseq's max_target_positions)
  int64_t padding_idx = 1;
  bool normalize_before = true;  // pre-LN (fairseq's language models always are)
  bool final_norm = true;        // decoder.layer_norm after the last pre-LN layer
  bool scale_embedding = true;   // embeddings times sqrt(dim)
  FeedForwardActivation activation = FeedForwardActivation::kRelu;
  double dropout = 0.1;
  double attention_dropout = 0.0;
  double activation_dropout = 0.0;
  double layerdrop = 0.0;  // each layer skipped with this probability in training
  // Output: plain embeddings tied (share_input_output_embed) or untied, or adaptive softmax.
  bool share_input_output_embed = true;
  bool adaptive_input = false;
  bool adaptive_softmax = false;
  std::vector<int64_t> cutoffs;  // both adaptive parts
  double adaptive_factor = 4.0;
  double adaptive_softmax_dropout = 0.0;
  bool tie_adaptive_weights = false;  // softmax tables = input tables
  bool tie_adaptive_proj = false;     // softmax projections = input projections, transposed
  nn::quant::QuantNoise quant_noise;  // attention, FFN, adaptive input projections (and the extra Linear)
  // fairseq's extra d x d Linear after plain embeddings exists whenever Quant-Noise is on; true keeps it in a
  // model built without noise, to load a checkpoint trained with it.
  bool embedding_projection = false;

  // "transformer_lm_wiki103" (the paper's 16-layer model, docs/MODELS.md, the language model), "transformer_lm_small"
  // (6 layers, d 512, vocabulary 32,000, tied embeddings: the CPU benchmark's model), "transformer_lm_tiny" (2 layers,
  // d 64, adaptive input and softmax over 1,000 words: tests).
  static TransformerLMConfig named(const std::string& name);
  AdaptiveOptions adaptive_options() const;
};

class TransformerDecoderLayer : public nn::Module {
 public:
  explicit TransformerDecoderLayer(const TransformerLMConfig& config);
  // x (N, T, dim) -> (N, T, dim); causal self-attention, key_padding_mask (N, T) u8 optional.
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor{}); }

 private:
  const TransformerLMConfig config_;
  std::shared_ptr<nn::MultiheadAttention> self_attn_;
  std::shared_ptr<nn::LayerNorm> self_attn_layer_norm_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
  std::shared_ptr<nn::LayerNorm> final_layer_norm_;
};

class TransformerDecoder : public nn::Module {
 public:
  explicit TransformerDecoder(const TransformerLMConfig& config);
  // tokens (N, T) i64 -> hidden states (N, T, dim) before the output layer.
  Tensor features(const Tensor& tokens);
  // hidden (N, T, dim) -> logits (N, T, vocab); with adaptive softmax, log-probabilities.
  Tensor output(const Tensor& hidden);
  // hidden (N, T, dim), targets (N, T) i64 -> summed negative log-likelihood of the non-padding targets.
  // `logits` is output(hidden) when the caller has formed it already: a plain output reuses it rather than
  // project twice (adaptive softmax scores only the targets' clusters, cheaper than its full output).
  Tensor nll_sum(const Tensor& hidden, const Tensor& targets, const Tensor& logits = {});

 private:
  const TransformerLMConfig config_;
  std::shared_ptr<nn::Embedding> embed_tokens_;    // plain
  std::shared_ptr<AdaptiveInput> adaptive_input_;  // or adaptive
  std::shared_ptr<nn::Linear> quant_noise_;        // with Quant-Noise on plain embeddings
  std::shared_ptr<nn::ModuleList<TransformerDecoderLayer>> layers_;
  std::shared_ptr<nn::LayerNorm> layer_norm_;      // final, optional
  std::shared_ptr<nn::Linear> output_projection_;  // untied plain output
  std::shared_ptr<AdaptiveSoftmax> adaptive_softmax_;
  Tensor positions_table_;  // sinusoidal, (max_positions + padding_idx + 1, dim): a constant, not state
};

class TransformerLM : public nn::Module {
 public:
  explicit TransformerLM(const TransformerLMConfig& config);
  // tokens (N, T) -> logits (N, T, vocab) (adaptive softmax: log-probabilities, which softmax alike).
  Tensor forward(const Tensor& tokens) override;
  // The language-model loss: mean negative log-likelihood (nats) of targets (N, T) over those that are not
  // padding, fairseq's cross_entropy / adaptive_loss criteria.
  Tensor loss(const Tensor& tokens, const Tensor& targets);
  // The same loss from the decoder's features (N, T, dim), when the caller needs them for the logits too
  // (`logits`, if formed already, as in TransformerDecoder::nll_sum).
  Tensor loss_from_features(const Tensor& features, const Tensor& targets, const Tensor& logits = {});

  TransformerDecoder& decoder() { return *decoder_; }
  const TransformerLMConfig config;

 private:
  std::shared_ptr<TransformerDecoder> decoder_;
};

}  // namespace qn::models
