// RoBERTa (docs/MODELS.md, RoBERTa): a post-LN Transformer encoder over token + learned position embeddings with an
// embedding LayerNorm, GELU feed-forward layers, a masked-LM head and a sentence classification head.
//
// Parameter names are Hugging Face's RobertaForMaskedLM / RobertaForSequenceClassification, so released
// checkpoints load directly:
//   roberta.embeddings.{word_embeddings, position_embeddings, LayerNorm}
//   roberta.embeddings.token_type_embeddings         only with type_vocab_size > 0 (Hugging Face has one row;
//                                                    fairseq, and the paper's count, none)
//   roberta.embeddings.quant_noise                   with Quant-Noise (or embedding_projection): fairseq's
//                                                    extra bias-free d x d Linear
//                                                    after the embedding LayerNorm and dropout (docs/METHOD.md, where
//                                                    the noise goes)
//   roberta.encoder.layer.L.attention.self.{query, key, value}
//   roberta.encoder.layer.L.attention.output.{dense, LayerNorm}
//   roberta.encoder.layer.L.intermediate.dense, roberta.encoder.layer.L.output.{dense, LayerNorm}
//   lm_head.{dense, layer_norm, bias}, lm_head.decoder (untied only; tied, the word embeddings)
//   classifier.{dense, out_proj}                     with num_classes > 0
// Each layer: h = LN(x + drop(dense(attn(x)))), out = LN(h + drop(dense(gelu(dense(h))))).
// Quant-Noise goes where fairseq puts it: attention projections, both FFN layers, the extra embedding
// Linear and the classifier's out_proj.
#pragma once

#include <memory>
#include <string>

#include "nn/container.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/norm.h"

namespace qn::models {

struct RobertaConfig {
  int64_t vocab_size = 50265;
  int64_t layers = 12;
  int64_t dim = 768;
  int64_t heads = 12;
  int64_t ffn_dim = 3072;
  int64_t max_positions = 514;  // position rows: 512 tokens + the padding offset 2
  int64_t padding_idx = 1;
  int64_t type_vocab_size = 0;
  double layer_norm_eps = 1e-5;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  double layerdrop = 0.0;
  bool lm_head = true;
  bool untie_lm_head = false;  // fairseq's --untie-weights-roberta
  int64_t num_classes = 0;     // > 0: the sentence classification head
  double pooler_dropout = 0.0;
  nn::quant::QuantNoise quant_noise;
  // fairseq's extra d x d Linear after the embeddings exists whenever Quant-Noise is on; true keeps it in a
  // model built without noise, to load a checkpoint trained with it.
  bool embedding_projection = false;

  // "roberta_base", "roberta_large" (docs/MODELS.md, RoBERTa) and "roberta_tiny" (2 layers, d 64, 1,000 words: tests).
  static RobertaConfig named(const std::string& name);
};

class RobertaEmbeddings;
class RobertaLayer;
class RobertaLMHead;
class RobertaClassificationHead;

// The encoder, Hugging Face's RobertaModel without pooler (children embeddings, encoder.layer).
class RobertaModel : public nn::Module {
 public:
  explicit RobertaModel(const RobertaConfig& config);
  // input_ids (N, T) i64 -> features (N, T, dim); padding keys are masked.
  Tensor forward(const Tensor& input_ids) override;

  nn::Embedding& word_embeddings() const;

 private:
  const RobertaConfig config_;
  std::shared_ptr<RobertaEmbeddings> embeddings_;
  std::shared_ptr<nn::ModuleList<RobertaLayer>> layers_;
};

class Roberta : public nn::Module {
 public:
  explicit Roberta(const RobertaConfig& config);
  ~Roberta() override;
  // input_ids (N, T) -> MLM logits (N, T, vocab) with the LM head, else class logits (N, num_classes).
  Tensor forward(const Tensor& input_ids) override;
  Tensor features(const Tensor& input_ids) { return roberta_->forward(input_ids); }
  // features (N, T, dim) -> (N, T, vocab)
  Tensor mlm_logits(const Tensor& features);
  // features (N, T, dim) -> (N, num_classes), from the first token
  Tensor class_logits(const Tensor& features);
  // Masked-LM loss: mean cross-entropy over the targets (N, T) that are not -100 (Hugging Face's ignore index).
  Tensor mlm_loss(const Tensor& input_ids, const Tensor& targets) {
    return mlm_loss_from_features(features(input_ids), targets);
  }
  // The same from features (N, T, dim), with the LM head run on the scored positions only, as fairseq's
  // masked_tokens does: its vocabulary-wide product then costs what the ~15% masked positions need.
  Tensor mlm_loss_from_features(const Tensor& features, const Tensor& targets);
  // Classification loss: mean cross-entropy of labels (N) i64.
  Tensor classification_loss(const Tensor& input_ids, const Tensor& labels) {
    return classification_loss_from_logits(class_logits(features(input_ids)), labels);
  }
  // The loss of the head the config carries: masked-LM with the LM head, else classification.
  Tensor loss(const Tensor& input_ids, const Tensor& targets) {
    return config.lm_head ? mlm_loss(input_ids, targets) : classification_loss(input_ids, targets);
  }
  // The same losses from the logits, when the caller needs those too.
  Tensor mlm_loss_from_logits(const Tensor& logits, const Tensor& targets);
  Tensor classification_loss_from_logits(const Tensor& logits, const Tensor& labels);

  static constexpr int64_t kIgnoreIndex = -100;

  const RobertaConfig config;

 private:
  std::shared_ptr<RobertaModel> roberta_;
  std::shared_ptr<RobertaLMHead> lm_head_;
  std::shared_ptr<RobertaClassificationHead> classifier_;
};

}  // namespace qn::models
