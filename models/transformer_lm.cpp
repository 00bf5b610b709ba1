#include "models/transformer_lm.h"

#include <cmath>

#include "models/sequence.h"
#include "nn/init.h"

namespace qn::models {

TransformerLMConfig TransformerLMConfig::named(const std::string& name) {
  TransformerLMConfig c;
  if (name == "transformer_lm_wiki103") {
    // fairseq's transformer_lm_wiki103 with the paper's training command (dropout 0.2; the architecture's
    // default is 0.3) over the 267,744-word WikiText-103 dictionary.
    c.vocab_size = 267744;
    c.layers = 16;
    c.dim = 1024;
    c.heads = 8;
    c.ffn_dim = 4096;
    c.max_positions = 3072;
    c.final_norm = false;
    c.dropout = 0.2;
    c.attention_dropout = 0.1;
    c.activation_dropout = 0.1;
    c.adaptive_input = c.adaptive_softmax = true;
    c.cutoffs = {20000, 60000};
    c.adaptive_softmax_dropout = 0.2;
    c.tie_adaptive_weights = c.tie_adaptive_proj = true;
  } else if (name == "transformer_lm_small") {
    // The defaults: 6 layers, d 512, 8 heads, FFN 2048, 32,000 words, tied embeddings.
  } else if (name == "transformer_lm_tiny") {
    c.vocab_size = 1000;
    c.layers = 2;
    c.dim = 64;
    c.heads = 4;
    c.ffn_dim = 128;
    c.max_positions = 512;
    c.adaptive_input = c.adaptive_softmax = true;
    c.cutoffs = {200, 500};
    c.tie_adaptive_weights = c.tie_adaptive_proj = true;
  } else {
    throw_error("TransformerLM",
                detail::concat("unknown model '", name,
                               "' (transformer_lm_wiki103, transformer_lm_small, transformer_lm_tiny)"));
  }
  return c;
}

AdaptiveOptions TransformerLMConfig::adaptive_options() const {
  AdaptiveOptions o;
  o.vocab_size = vocab_size;
  o.dim = dim;
  o.cutoffs = cutoffs;
  o.factor = adaptive_factor;
  o.padding_idx = padding_idx;
  o.dropout = adaptive_softmax_dropout;
  o.quant_noise = quant_noise;
  return o;
}

// --- one layer

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLMConfig& c)
    : Module("TransformerDecoderLayer"), config_(c) {
  self_attn_ = register_module(
      "self_attn",
      std::make_shared<nn::MultiheadAttention>(
          nn::MultiheadAttentionOptions(c.dim, c.heads).dropout(c.attention_dropout).quant_noise(c.quant_noise)));
  self_attn_layer_norm_ =
      register_module("self_attn_layer_norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({c.dim})));
  // fairseq builds fc1/fc2 as plain nn.Linear: PyTorch's default initialisation, which Linear's is.
  fc1_ = register_module("fc1",
                         std::make_shared<nn::Linear>(nn::LinearOptions(c.dim, c.ffn_dim).quant_noise(c.quant_noise)));
  fc2_ = register_module("fc2",
                         std::make_shared<nn::Linear>(nn::LinearOptions(c.ffn_dim, c.dim).quant_noise(c.quant_noise)));
  final_layer_norm_ =
      register_module("final_layer_norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({c.dim})));
}

Tensor TransformerDecoderLayer::forward(const Tensor& x, const Tensor& key_padding_mask) {
  const bool training = is_training();
  const bool pre = config_.normalize_before;
  // x (N, T, d): attention block
  Tensor h = pre ? self_attn_layer_norm_->forward(x) : x;
  h = self_attn_->forward(h, h, h, key_padding_mask, /*causal=*/true);
  Tensor y = add(x, dropout(h, config_.dropout, training));
  if (!pre) y = self_attn_layer_norm_->forward(y);
  // feed-forward block: d -> ffn -> d
  h = pre ? final_layer_norm_->forward(y) : y;
  h = fc1_->forward(h);
  h = config_.activation == FeedForwardActivation::kRelu ? relu(h) : gelu(h);
  h = fc2_->forward(dropout(h, config_.activation_dropout, training));
  Tensor out = add(y, dropout(h, config_.dropout, training));
  return pre ? out : final_layer_norm_->forward(out);
}

// --- the decoder

TransformerDecoder::TransformerDecoder(const TransformerLMConfig& c) : Module("TransformerDecoder"), config_(c) {
  QN_CHECK(c.vocab_size > c.padding_idx && c.layers >= 0 && c.dim > 0, "TransformerLM", "invalid sizes: vocabulary ",
           c.vocab_size, ", padding_idx ", c.padding_idx, ", ", c.layers, " layers of width ", c.dim);
  QN_CHECK(!c.tie_adaptive_weights || (c.adaptive_input && c.adaptive_softmax), "TransformerLM",
           "tie_adaptive_weights needs adaptive input and adaptive softmax");
  QN_CHECK(!c.adaptive_input || c.adaptive_softmax || !c.share_input_output_embed, "TransformerLM",
           "adaptive input cannot share its embeddings with a plain output layer");
  if (c.adaptive_input) {
    adaptive_input_ = register_module("embed_tokens", std::make_shared<AdaptiveInput>(c.adaptive_options()));
  } else {
    // fairseq's Embedding: N(0, dim^-1/2), padding row zero.
    embed_tokens_ = register_module(
        "embed_tokens",
        std::make_shared<nn::Embedding>(nn::EmbeddingOptions(c.vocab_size, c.dim).padding_idx(c.padding_idx)));
    nn::init::normal_(embed_tokens_->weight, 0.0, 1.0 / std::sqrt(static_cast<double>(c.dim)));
    NoGradGuard no_grad;
    embed_tokens_->weight.select(0, c.padding_idx).fill_(0);
  }
  if (!c.adaptive_input && (c.quant_noise.active() || c.embedding_projection)) {
    quant_noise_ = register_module(
        "quant_noise",
        std::make_shared<nn::Linear>(nn::LinearOptions(c.dim, c.dim).bias(false).quant_noise(c.quant_noise)));
  }
  // fairseq's table size: every position of a full-length sequence after the padding offset.
  positions_table_ = sinusoidal_table(c.max_positions + c.padding_idx + 1, c.dim, c.padding_idx);
  layers_ = register_module("layers", std::make_shared<nn::ModuleList<TransformerDecoderLayer>>());
  for (int64_t l = 0; l < c.layers; ++l) layers_->push_back(std::make_shared<TransformerDecoderLayer>(c));
  if (c.normalize_before && c.final_norm) {
    layer_norm_ = register_module("layer_norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({c.dim})));
  }
  if (c.adaptive_softmax) {
    adaptive_softmax_ = register_module(
        "adaptive_softmax",
        std::make_shared<AdaptiveSoftmax>(c.adaptive_options(), c.tie_adaptive_weights ? adaptive_input_ : nullptr,
                                          c.tie_adaptive_proj));
  } else if (!c.share_input_output_embed) {
    output_projection_ = register_module(
        "output_projection", std::make_shared<nn::Linear>(nn::LinearOptions(c.dim, c.vocab_size).bias(false)));
    nn::init::normal_(output_projection_->weight, 0.0, 1.0 / std::sqrt(static_cast<double>(c.dim)));
  }
}

Tensor TransformerDecoder::features(const Tensor& tokens) {
  QN_CHECK(tokens.dim() == 2 && tokens.dtype() == DType::i64 && tokens.size(1) <= config_.max_positions,
           "TransformerLM", "expected token ids i64 (N, T) with T <= ", config_.max_positions, ", got ",
           tokens.describe());
  const bool training = is_training();
  Tensor x = adaptive_input_ ? adaptive_input_->forward(tokens) : embed_tokens_->forward(tokens);
  if (config_.scale_embedding) x = mul(x, std::sqrt(static_cast<double>(config_.dim)));
  if (quant_noise_) x = quant_noise_->forward(x);
  // The table is a constant, not a buffer: it follows the tokens to their device.
  if (positions_table_.device() != tokens.device()) positions_table_ = positions_table_.to(tokens.device());
  x = add(x, embedding(positions_table_.to(x.dtype()), position_ids(tokens, config_.padding_idx)));
  x = dropout(x, config_.dropout, training);
  const Tensor padding = padding_mask(tokens, config_.padding_idx);
  const std::vector<bool> kept = layers_kept(config_.layers, config_.layerdrop, training);
  for (size_t l = 0; l < layers_->size(); ++l) {
    if (kept[l]) x = (*layers_)[l].forward(x, padding);
  }
  return layer_norm_ ? layer_norm_->forward(x) : x;
}

Tensor TransformerDecoder::output(const Tensor& hidden) {
  if (adaptive_softmax_) {
    const Tensor flat = reshape(hidden, {-1, config_.dim});
    return reshape(adaptive_softmax_->log_probs(flat), {hidden.size(0), hidden.size(1), config_.vocab_size});
  }
  if (output_projection_) return output_projection_->forward(hidden);
  return linear(hidden, embed_tokens_->stored_weight(), Tensor());  // tied: logits = h E^T
}

Tensor TransformerDecoder::nll_sum(const Tensor& hidden, const Tensor& targets, const Tensor& logits) {
  QN_CHECK(targets.dtype() == DType::i64 && targets.dim() == 2 && targets.size(0) == hidden.size(0) &&
               targets.size(1) == hidden.size(1),
           "TransformerLM", "expected targets i64 (", hidden.size(0), ", ", hidden.size(1), "), got ",
           targets.describe());
  const Tensor flat_targets = reshape(targets, {-1});
  if (adaptive_softmax_) return adaptive_softmax_->nll_sum(reshape(hidden, {-1, config_.dim}), flat_targets);
  CrossEntropyOptions summed;
  summed.reduction = Reduction::sum;
  summed.ignore_index = config_.padding_idx;
  const Tensor scores = logits.defined() ? logits : output(hidden);
  return cross_entropy(reshape(scores, {-1, config_.vocab_size}), flat_targets, summed);
}

// --- the model

TransformerLM::TransformerLM(const TransformerLMConfig& c) : Module("TransformerLM"), config(c) {
  decoder_ = register_module("decoder", std::make_shared<TransformerDecoder>(c));
}

Tensor TransformerLM::forward(const Tensor& tokens) { return decoder_->output(decoder_->features(tokens)); }

Tensor TransformerLM::loss(const Tensor& tokens, const Tensor& targets) {
  return loss_from_features(decoder_->features(tokens), targets);
}

Tensor TransformerLM::loss_from_features(const Tensor& features, const Tensor& targets, const Tensor& logits) {
  const Tensor summed = decoder_->nll_sum(features, targets, logits);
  const Tensor t = targets.to_host().contiguous();
  int64_t counted = 0;
  for (int64_t i = 0; i < t.numel(); ++i) counted += t.data_ptr<int64_t>()[i] != config.padding_idx ? 1 : 0;
  QN_CHECK(counted > 0, "TransformerLM", "every target is padding: the loss is undefined");
  return mul(summed, 1.0 / static_cast<double>(counted));
}

}  // namespace qn::models
