// qn convert's tables: a tiny RoBERTa's parameters written under fairseq's names (spelled out here as fairseq's
// model code names them) and under Hugging Face's layout with its extras (token-type row, pooler, position_ids,
// tied decoder copies) convert back into a model that computes the same logits; unknown names, ambiguous
// heads and bad folds are refused with the offending name.
#include "models/checkpoint_convert.h"

#include <gtest/gtest.h>

#include <map>

#include "autograd/ops.h"
#include "models/roberta.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

RobertaConfig tiny(int64_t type_vocab_size = 0) {
  RobertaConfig c = RobertaConfig::named("roberta_tiny");
  c.num_classes = 3;
  c.type_vocab_size = type_vocab_size;
  c.dropout = c.attention_dropout = 0;
  return c;
}

Tensor ids() { return from_vector<int64_t>({0, 5, 17, 999, 2, 0, 44, 8, 2, 1}, {2, 5}); }

// Both heads' outputs, for comparing two models.
std::pair<Tensor, Tensor> logits(Roberta& model) {
  model.eval();
  NoGradGuard no_grad;
  const Tensor features = model.features(ids());
  return {model.mlm_logits(features), model.class_logits(features)};
}

void expect_close(const Tensor& a, const Tensor& b, double rtol) {
  ASSERT_EQ(a.shape(), b.shape());
  for (const auto& i : testing::all_indices(a.shape())) {
    ASSERT_NEAR(testing::at(a, i), testing::at(b, i), rtol * (1 + std::abs(testing::at(b, i))));
  }
}

// Our name -> fairseq's (fairseq/models/roberta/model.py, fairseq/modules/transformer_layer.py).
std::string fairseq_name(const std::string& ours) {
  static const std::map<std::string, std::string> fixed = {
      {"roberta.embeddings.word_embeddings.weight", "encoder.sentence_encoder.embed_tokens.weight"},
      {"roberta.embeddings.position_embeddings.weight", "encoder.sentence_encoder.embed_positions.weight"},
      {"roberta.embeddings.LayerNorm.weight", "encoder.sentence_encoder.layernorm_embedding.weight"},
      {"roberta.embeddings.LayerNorm.bias", "encoder.sentence_encoder.layernorm_embedding.bias"},
      {"lm_head.dense.weight", "encoder.lm_head.dense.weight"},
      {"lm_head.dense.bias", "encoder.lm_head.dense.bias"},
      {"lm_head.layer_norm.weight", "encoder.lm_head.layer_norm.weight"},
      {"lm_head.layer_norm.bias", "encoder.lm_head.layer_norm.bias"},
      {"lm_head.bias", "encoder.lm_head.bias"},
      {"classifier.dense.weight", "classification_heads.mnli.dense.weight"},
      {"classifier.dense.bias", "classification_heads.mnli.dense.bias"},
      {"classifier.out_proj.weight", "classification_heads.mnli.out_proj.weight"},
      {"classifier.out_proj.bias", "classification_heads.mnli.out_proj.bias"},
  };
  if (auto it = fixed.find(ours); it != fixed.end()) return it->second;
  static const std::map<std::string, std::string> layer = {
      {"attention.self.query", "self_attn.q_proj"},
      {"attention.self.key", "self_attn.k_proj"},
      {"attention.self.value", "self_attn.v_proj"},
      {"attention.output.dense", "self_attn.out_proj"},
      {"attention.output.LayerNorm", "self_attn_layer_norm"},
      {"intermediate.dense", "fc1"},
      {"output.dense", "fc2"},
      {"output.LayerNorm", "final_layer_norm"},
  };
  const std::string prefix = "roberta.encoder.layer.";
  EXPECT_EQ(ours.rfind(prefix, 0), 0u) << ours;
  const std::string rest = ours.substr(prefix.size());  // "L.module.kind"
  const size_t dot = rest.find('.'), last = rest.rfind('.');
  const std::string module = rest.substr(dot + 1, last - dot - 1);
  EXPECT_TRUE(layer.count(module)) << ours;
  return "encoder.sentence_encoder.layers." + rest.substr(0, dot) + "." + layer.at(module) + rest.substr(last);
}

TEST(ConvertCheckpoint, FairseqRobertaLoadsAndComputesTheSameLogits) {
  manual_seed(3);
  Roberta source(tiny());
  const auto [mlm, cls] = logits(source);

  std::vector<NamedTensor> fairseq;
  std::map<std::string, Tensor> ours;
  for (const NamedTensor& t : source.state_dict()) ours[t.name] = t.tensor;
  for (const auto& [name, tensor] : ours) {
    // Layer 1 in the layout of fairseq < 0.9: q, k, v stacked in one in_proj, under the `decoder.` prefix.
    if (name.starts_with("roberta.encoder.layer.1.attention.self.")) continue;
    fairseq.push_back({fairseq_name(name), tensor});
  }
  for (const char* kind : {"weight", "bias"}) {
    const std::string self = std::string("roberta.encoder.layer.1.attention.self.");
    fairseq.push_back(
        {std::string("decoder.sentence_encoder.layers.1.self_attn.in_proj_") + kind,
         cat({ours[self + "query." + kind], ours[self + "key." + kind], ours[self + "value." + kind]}, 0)});
  }
  fairseq.push_back({"encoder.lm_head.weight", ours["roberta.embeddings.word_embeddings.weight"].clone()});  // tied
  fairseq.push_back({"encoder.sentence_encoder.version", ones({1})});
  fairseq.push_back({"classification_heads.rte.dense.weight", zeros({64, 64})});
  fairseq.push_back({"classification_heads.rte.dense.bias", zeros({64})});

  EXPECT_QN_ERROR(convert_checkpoint(fairseq, CheckpointFormat::fairseq_roberta), "convert",
                  "2 classification heads; choose one with --classification-head (mnli, rte)");
  EXPECT_QN_ERROR(convert_checkpoint(fairseq, CheckpointFormat::fairseq_roberta, {"sst2"}), "convert",
                  "no classification head 'sst2'");
  const ConvertedCheckpoint converted = convert_checkpoint(fairseq, CheckpointFormat::fairseq_roberta, {"mnli"});
  EXPECT_EQ(converted.tensors.size(), ours.size());

  manual_seed(99);  // different initial values: every one must come from the checkpoint
  Roberta target(tiny());
  target.load_state_dict(converted.tensors, /*strict=*/true);
  const auto [mlm2, cls2] = logits(target);
  expect_close(mlm2, mlm, 0);
  expect_close(cls2, cls, 0);

  // An untied output matrix survives as lm_head.decoder.weight.
  std::vector<NamedTensor> untied = fairseq;
  for (NamedTensor& t : untied) {
    if (t.name == "encoder.lm_head.weight") t.tensor = add(t.tensor, 1.0);
  }
  bool kept = false;
  for (const NamedTensor& t : convert_checkpoint(untied, CheckpointFormat::fairseq_roberta, {"mnli"}).tensors) {
    kept = kept || t.name == "lm_head.decoder.weight";
  }
  EXPECT_TRUE(kept);

  fairseq.push_back({"encoder.sentence_encoder.layers.0.adapter.weight", zeros({2})});
  EXPECT_QN_ERROR(convert_checkpoint(fairseq, CheckpointFormat::fairseq_roberta, {"mnli"}), "convert",
                  "'encoder.sentence_encoder.layers.0.adapter.weight' is not a fairseq RoBERTa parameter");
}

TEST(ConvertCheckpoint, HuggingFaceTokenTypeRowFoldsIntoPositions) {
  manual_seed(5);
  Roberta with_type(tiny(1));  // Hugging Face's layout: one token-type row added to every token
  {
    NoGradGuard no_grad;
    for (NamedTensor& t : with_type.named_parameters()) {
      if (t.name == "roberta.embeddings.token_type_embeddings.weight") t.tensor.copy_(randn({1, 64}));
    }
  }
  const auto [mlm, cls] = logits(with_type);

  std::vector<NamedTensor> hf;
  Tensor words;
  for (const NamedTensor& t : with_type.state_dict()) {
    hf.push_back(t);
    if (t.name == "roberta.embeddings.word_embeddings.weight") words = t.tensor;
  }
  hf.push_back({"roberta.embeddings.position_ids", arange(0, 514, 1, DType::i64).view({1, 514})});
  hf.push_back({"roberta.pooler.dense.weight", zeros({64, 64})});
  hf.push_back({"lm_head.decoder.weight", words.clone()});
  const ConvertedCheckpoint converted = convert_checkpoint(hf, CheckpointFormat::hf_roberta);
  EXPECT_EQ(converted.notes.size(), 4u);  // the fold, position_ids, the pooler, the tied decoder

  Roberta without_type(tiny(0));  // fairseq's layout, the default
  without_type.load_state_dict(converted.tensors, /*strict=*/true);
  const auto [mlm2, cls2] = logits(without_type);
  expect_close(mlm2, mlm, 1e-5);  // (word + position) + type against word + (position + type)
  expect_close(cls2, cls, 1e-5);

  std::vector<NamedTensor> two_rows = hf;
  for (NamedTensor& t : two_rows) {
    if (t.name == "roberta.embeddings.token_type_embeddings.weight") t.tensor = zeros({2, 64});
  }
  EXPECT_QN_ERROR(convert_checkpoint(two_rows, CheckpointFormat::hf_roberta), "convert", "one-row");
  hf.push_back({"roberta.encoder.layer.0.crossattention.self.query.weight", zeros({2})});
  EXPECT_QN_ERROR(convert_checkpoint(hf, CheckpointFormat::hf_roberta), "convert",
                  "'roberta.encoder.layer.0.crossattention.self.query.weight' is not a Hugging Face RoBERTa");
  EXPECT_QN_ERROR(parse_checkpoint_format("bert"), "convert", "fairseq-roberta, hf-roberta");
}

}  // namespace
}  // namespace qn::models
