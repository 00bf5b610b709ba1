#include "models/roberta.h"

#include <vector>

#include "models/sequence.h"
#include "nn/init.h"

namespace qn::models {

RobertaConfig RobertaConfig::named(const std::string& name) {
  RobertaConfig c;
  if (name == "roberta_base") {
    // the defaults
  } else if (name == "roberta_large") {
    c.layers = 24;
    c.dim = 1024;
    c.heads = 16;
    c.ffn_dim = 4096;
  } else if (name == "roberta_tiny") {
    c.vocab_size = 1000;
    c.layers = 2;
    c.dim = 64;
    c.heads = 4;
    c.ffn_dim = 128;
    c.max_positions = 130;
  } else {
    throw_error("Roberta", detail::concat("unknown model '", name, "' (roberta_base, roberta_large, roberta_tiny)"));
  }
  return c;
}

namespace {

// BERT's initialisation (Hugging Face's _init_weights, fairseq's init_bert_params): N(0, 0.02), biases 0.
std::shared_ptr<nn::Linear> bert_linear(int64_t in, int64_t out, const nn::quant::QuantNoise& noise = {},
                                        bool bias = true) {
  auto layer = std::make_shared<nn::Linear>(nn::LinearOptions(in, out).bias(bias).quant_noise(noise));
  nn::init::normal_(layer->weight, 0.0, 0.02);
  if (bias) nn::init::zeros_(layer->bias);
  return layer;
}

std::shared_ptr<nn::Embedding> bert_embedding(int64_t rows, int64_t dim, std::optional<int64_t> padding_idx) {
  nn::EmbeddingOptions o(rows, dim);
  if (padding_idx) o.padding_idx(*padding_idx);
  auto table = std::make_shared<nn::Embedding>(o);
  nn::init::normal_(table->weight, 0.0, 0.02);
  if (padding_idx) {
    NoGradGuard no_grad;
    table->weight.select(0, *padding_idx).fill_(0);
  }
  return table;
}

std::shared_ptr<nn::LayerNorm> layer_norm(const RobertaConfig& c) {
  return std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({c.dim}).eps(c.layer_norm_eps));
}

}  // namespace

// --- embeddings: word + position (+ type 0) -> LayerNorm -> dropout (-> Quant-Noise Linear)

class RobertaEmbeddings : public nn::Module {
 public:
  explicit RobertaEmbeddings(const RobertaConfig& c) : Module("RobertaEmbeddings"), config_(c) {
    word_embeddings = register_module("word_embeddings", bert_embedding(c.vocab_size, c.dim, c.padding_idx));
    position_embeddings_ =
        register_module("position_embeddings", bert_embedding(c.max_positions, c.dim, c.padding_idx));
    if (c.type_vocab_size > 0) {
      token_type_embeddings_ =
          register_module("token_type_embeddings", bert_embedding(c.type_vocab_size, c.dim, std::nullopt));
    }
    layer_norm_ = register_module("LayerNorm", layer_norm(c));
    if (c.quant_noise.active() || c.embedding_projection)
      quant_noise_ = register_module("quant_noise", bert_linear(c.dim, c.dim, c.quant_noise, false));
  }

  // input_ids (N, T) -> (N, T, dim)
  Tensor forward(const Tensor& input_ids) override {
    const Tensor positions = position_ids(input_ids, config_.padding_idx);
    const Tensor last = amax(positions.to_host());  // the host copy position_ids keeps: no device read
    QN_CHECK(last.item<int64_t>() < config_.max_positions, "Roberta", "a sequence of ", input_ids.size(1),
             " tokens needs position ", last.item<int64_t>(), " but the model has ", config_.max_positions,
             " position rows");
    Tensor x = add(word_embeddings->forward(input_ids), position_embeddings_->forward(positions));
    if (token_type_embeddings_) {
      // One segment: type 0 everywhere, made on the host and copied, so the embedding checks it there.
      x = add(x, token_type_embeddings_->forward(zeros(input_ids.shape(), DType::i64).to(input_ids.device())));
    }
    x = dropout(layer_norm_->forward(x), config_.dropout, is_training());
    return quant_noise_ ? quant_noise_->forward(x) : x;
  }

  std::shared_ptr<nn::Embedding> word_embeddings;

 private:
  const RobertaConfig config_;
  std::shared_ptr<nn::Embedding> position_embeddings_, token_type_embeddings_;
  std::shared_ptr<nn::LayerNorm> layer_norm_;
  std::shared_ptr<nn::Linear> quant_noise_;
};

// --- one post-LN layer

class RobertaLayer : public nn::Module {
 public:
  explicit RobertaLayer(const RobertaConfig& c) : Module("RobertaLayer"), config_(c) {
    QN_CHECK(c.heads > 0 && c.dim % c.heads == 0, "Roberta", "width ", c.dim, " must be divisible by ", c.heads,
             " heads");
    auto attention = register_module("attention", std::make_shared<nn::ModuleDict>());
    auto self = attention->add("self", std::make_shared<nn::ModuleDict>());
    query_ = self->add("query", bert_linear(c.dim, c.dim, c.quant_noise));
    key_ = self->add("key", bert_linear(c.dim, c.dim, c.quant_noise));
    value_ = self->add("value", bert_linear(c.dim, c.dim, c.quant_noise));
    auto attention_output = attention->add("output", std::make_shared<nn::ModuleDict>());
    attention_dense_ = attention_output->add("dense", bert_linear(c.dim, c.dim, c.quant_noise));
    attention_norm_ = attention_output->add("LayerNorm", layer_norm(c));
    auto intermediate = register_module("intermediate", std::make_shared<nn::ModuleDict>());
    intermediate_ = intermediate->add("dense", bert_linear(c.dim, c.ffn_dim, c.quant_noise));
    auto output = register_module("output", std::make_shared<nn::ModuleDict>());
    output_ = output->add("dense", bert_linear(c.ffn_dim, c.dim, c.quant_noise));
    output_norm_ = output->add("LayerNorm", layer_norm(c));
  }

  using nn::Module::forward;  // a layer always takes its mask: the one-input form is Module's
  // x (N, T, dim), masked_out u8 broadcastable to (N, H, T, T) or undefined -> (N, T, dim)
  Tensor forward(const Tensor& x, const Tensor& masked_out) {
    const bool training = is_training();
    const int64_t n = x.size(0), t = x.size(1), heads = config_.heads, head_dim = config_.dim / heads;
    auto split = [&](const Tensor& y) { return transpose(reshape(y, {n, t, heads, head_dim}), 1, 2); };
    AttentionOptions attention;
    attention.masked_out = masked_out;
    attention.dropout = config_.attention_dropout;
    attention.training = training;
    const Tensor context = scaled_dot_product_attention(split(query_->forward(x)), split(key_->forward(x)),
                                                        split(value_->forward(x)), attention);  // (N, H, T, hd)
    const Tensor merged = reshape(transpose(context, 1, 2), {n, t, config_.dim});
    const Tensor h =
        attention_norm_->forward(add(x, dropout(attention_dense_->forward(merged), config_.dropout, training)));
    const Tensor inner = gelu(intermediate_->forward(h));  // (N, T, ffn)
    return output_norm_->forward(add(h, dropout(output_->forward(inner), config_.dropout, training)));
  }

 private:
  const RobertaConfig config_;
  std::shared_ptr<nn::Linear> query_, key_, value_, attention_dense_, intermediate_, output_;
  std::shared_ptr<nn::LayerNorm> attention_norm_, output_norm_;
};

// --- the encoder

RobertaModel::RobertaModel(const RobertaConfig& c) : Module("RobertaModel"), config_(c) {
  QN_CHECK(c.vocab_size > c.padding_idx && c.max_positions > c.padding_idx + 1 && c.layers >= 0, "Roberta",
           "invalid sizes: vocabulary ", c.vocab_size, ", ", c.max_positions, " positions, padding_idx ", c.padding_idx,
           ", ", c.layers, " layers");
  embeddings_ = register_module("embeddings", std::make_shared<RobertaEmbeddings>(c));
  auto encoder = register_module("encoder", std::make_shared<nn::ModuleDict>());
  layers_ = encoder->add("layer", std::make_shared<nn::ModuleList<RobertaLayer>>());
  for (int64_t l = 0; l < c.layers; ++l) layers_->push_back(std::make_shared<RobertaLayer>(c));
}

nn::Embedding& RobertaModel::word_embeddings() const { return *embeddings_->word_embeddings; }

Tensor RobertaModel::forward(const Tensor& input_ids) {
  QN_CHECK(input_ids.dim() == 2 && input_ids.dtype() == DType::i64, "Roberta", "expected input_ids i64 (N, T), got ",
           input_ids.describe());
  Tensor x = embeddings_->forward(input_ids);
  const Tensor padding = padding_mask(input_ids, config_.padding_idx);
  const Tensor masked_out = padding.defined() ? padding.view({input_ids.size(0), 1, 1, input_ids.size(1)}) : Tensor{};
  const std::vector<bool> kept = layers_kept(config_.layers, config_.layerdrop, is_training());
  for (size_t l = 0; l < layers_->size(); ++l) {
    if (kept[l]) x = (*layers_)[l].forward(x, masked_out);
  }
  return x;
}

// --- heads

// dense -> GELU -> LayerNorm -> decoder (the word embeddings, tied, or its own weight) + bias.
class RobertaLMHead : public nn::Module {
 public:
  RobertaLMHead(const RobertaConfig& c, nn::Embedding* tied) : Module("RobertaLMHead"), tied_(tied) {
    dense_ = register_module("dense", bert_linear(c.dim, c.dim));
    layer_norm_ = register_module("layer_norm", layer_norm(c));
    if (!tied_) decoder_ = register_module("decoder", bert_linear(c.dim, c.vocab_size, {}, false));
    bias_ = register_parameter("bias", zeros({c.vocab_size}));
  }
  // features (N, T, dim) -> (N, T, vocab)
  Tensor forward(const Tensor& features) override {
    const Tensor h = layer_norm_->forward(gelu(dense_->forward(features)));
    const Tensor weight = tied_ ? tied_->stored_weight() : decoder_->effective_weight();  // (vocab, dim)
    return linear(h, weight, bias_);
  }

 private:
  nn::Embedding* tied_;
  std::shared_ptr<nn::Linear> dense_, decoder_;
  std::shared_ptr<nn::LayerNorm> layer_norm_;
  Tensor bias_;
};

// first token -> dropout -> dense -> tanh -> dropout -> out_proj (with Quant-Noise).
class RobertaClassificationHead : public nn::Module {
 public:
  explicit RobertaClassificationHead(const RobertaConfig& c) : Module("RobertaClassificationHead"), config_(c) {
    dense_ = register_module("dense", bert_linear(c.dim, c.dim));
    out_proj_ = register_module("out_proj", bert_linear(c.dim, c.num_classes, c.quant_noise));
  }
  // features (N, T, dim) -> (N, num_classes)
  Tensor forward(const Tensor& features) override {
    const bool training = is_training();
    const Tensor first = dropout(select(features, 1, 0), config_.pooler_dropout, training);
    return out_proj_->forward(dropout(tanh(dense_->forward(first)), config_.pooler_dropout, training));
  }

 private:
  const RobertaConfig config_;
  std::shared_ptr<nn::Linear> dense_, out_proj_;
};

// --- the model

Roberta::Roberta(const RobertaConfig& c) : Module("Roberta"), config(c) {
  QN_CHECK(c.lm_head || c.num_classes > 0, "Roberta", "a model needs the LM head, a classification head or both");
  roberta_ = register_module("roberta", std::make_shared<RobertaModel>(c));
  if (c.lm_head) {
    lm_head_ = register_module(
        "lm_head", std::make_shared<RobertaLMHead>(c, c.untie_lm_head ? nullptr : &roberta_->word_embeddings()));
  }
  if (c.num_classes > 0) classifier_ = register_module("classifier", std::make_shared<RobertaClassificationHead>(c));
}

Roberta::~Roberta() = default;

Tensor Roberta::mlm_logits(const Tensor& features) {
  QN_CHECK(lm_head_, "Roberta", "this model has no LM head");
  return lm_head_->forward(features);
}

Tensor Roberta::class_logits(const Tensor& features) {
  QN_CHECK(classifier_, "Roberta", "this model has no classification head (num_classes is 0)");
  return classifier_->forward(features);
}

Tensor Roberta::forward(const Tensor& input_ids) {
  const Tensor h = features(input_ids);
  return lm_head_ ? mlm_logits(h) : class_logits(h);
}

Tensor Roberta::mlm_loss_from_logits(const Tensor& logits, const Tensor& targets) {
  QN_CHECK(targets.dtype() == DType::i64 && targets.dim() == 2 && targets.size(0) == logits.size(0) &&
               targets.size(1) == logits.size(1),
           "Roberta", "expected MLM targets i64 (", logits.size(0), ", ", logits.size(1), "), got ",
           targets.describe());
  CrossEntropyOptions o;
  o.ignore_index = kIgnoreIndex;
  return cross_entropy(reshape(logits, {-1, config.vocab_size}), reshape(targets, {-1}), o);
}

Tensor Roberta::mlm_loss_from_features(const Tensor& features, const Tensor& targets) {
  QN_CHECK(targets.dtype() == DType::i64 && targets.dim() == 2 && features.dim() == 3 &&
               targets.size(0) == features.size(0) && targets.size(1) == features.size(1),
           "Roberta", "expected MLM targets i64 (", features.size(0), ", ", features.size(1), "), got ",
           targets.describe());
  const Tensor flat_targets = targets.contiguous().view({-1});
  const Tensor host_targets = flat_targets.to_host();  // which positions are scored: the batch's host copy
  const int64_t* target = host_targets.data_ptr<int64_t>();
  std::vector<int64_t> scored, scored_targets;
  for (int64_t i = 0; i < flat_targets.numel(); ++i) {
    if (target[i] == kIgnoreIndex) continue;
    scored.push_back(i);
    scored_targets.push_back(target[i]);
  }
  // Nothing scored: the full-output loss gives what cross-entropy gives then.
  if (scored.empty()) return mlm_loss_from_logits(mlm_logits(features), targets);
  const Tensor rows = from_vector(scored).to(features.device());                              // (M)
  const Tensor scored_features = index_select(reshape(features, {-1, config.dim}), 0, rows);  // (M, dim)
  // The scored targets from the host too, so that cross-entropy checks them there.
  return cross_entropy(mlm_logits(scored_features), from_vector(scored_targets).to(features.device()));
}

Tensor Roberta::classification_loss_from_logits(const Tensor& logits, const Tensor& labels) {
  QN_CHECK(labels.dtype() == DType::i64 && labels.dim() == 1 && labels.size(0) == logits.size(0), "Roberta",
           "expected labels i64 (", logits.size(0), "), got ", labels.describe());
  return cross_entropy(logits, labels);
}

}  // namespace qn::models
