// RoBERTa: the parameter counts of docs/MODELS.md, RoBERTa (124,696,665 with the tied LM head; 480.2 MiB with the MNLI
// head and the Quant-Noise embedding Linear — the paper's 593,123 for the head is 224 more than its shapes
// give, 592,899, and either rounds to 480.2; the untied decoder), Hugging Face's names, the position limit,
// LayerDrop and bad input.
#include "models/roberta.h"

#include <gtest/gtest.h>

#include "nn/quant/size_report.h"
#include "tests/models/parameters.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

TEST(Roberta, BaseCountsAndNames) {
  Roberta base(RobertaConfig::named("roberta_base"));
  EXPECT_EQ(testing::parameter_count(base), 124696665);
  for (const char* name :
       {"roberta.embeddings.word_embeddings.weight", "roberta.embeddings.position_embeddings.weight",
        "roberta.embeddings.LayerNorm.bias", "roberta.encoder.layer.0.attention.self.query.weight",
        "roberta.encoder.layer.11.attention.output.LayerNorm.weight", "roberta.encoder.layer.5.intermediate.dense.bias",
        "roberta.encoder.layer.5.output.dense.weight", "lm_head.dense.weight", "lm_head.layer_norm.weight",
        "lm_head.bias"}) {
    EXPECT_TRUE(testing::has_parameter(base, name)) << name;
  }
  EXPECT_FALSE(testing::has_parameter(base, "lm_head.decoder.weight"));  // tied to the word embeddings

  // The paper's model: the MNLI head and fairseq's Quant-Noise embedding Linear on top: 480.2 MiB.
  RobertaConfig qn = RobertaConfig::named("roberta_base");
  qn.num_classes = 3;
  qn.quant_noise.p = 0.2;
  Roberta paper(qn);
  const int64_t mnli_head = 768 * 768 + 768 + 768 * 3 + 3;
  EXPECT_EQ(testing::parameter_count(paper), 124696665 + mnli_head + 768 * 768);
  EXPECT_TRUE(testing::has_parameter(paper, "roberta.embeddings.quant_noise.weight"));
  EXPECT_TRUE(testing::has_parameter(paper, "classifier.out_proj.bias"));
  EXPECT_NEAR(nn::quant::size_report(paper).total_bytes() / nn::quant::kMiB, 480.2, 0.05);
}

TEST(Roberta, UntiedHeadAddsTheDecoder) {
  RobertaConfig c = RobertaConfig::named("roberta_tiny");
  const int64_t tied = testing::parameter_count(Roberta(c));
  c.untie_lm_head = true;
  Roberta untied(c);
  EXPECT_EQ(testing::parameter_count(untied), tied + 1000 * 64);
  EXPECT_TRUE(testing::has_parameter(untied, "lm_head.decoder.weight"));
}

TEST(Roberta, LargeCountFromItsShapes) {
  const int64_t d = 1024, ffn = 4096, vocab = 50265;
  const int64_t layer = 4 * (d * d + d) + 2 * d * ffn + ffn + d + 4 * d;
  const int64_t embeddings = vocab * d + 514 * d + 2 * d;
  const int64_t lm_head = d * d + d + 2 * d + vocab;
  EXPECT_EQ(testing::parameter_count(Roberta(RobertaConfig::named("roberta_large"))),
            embeddings + 24 * layer + lm_head);
  EXPECT_QN_ERROR(RobertaConfig::named("roberta_huge"), "roberta_huge");
}

TEST(Roberta, OutputsAndLayerDrop) {
  RobertaConfig c = RobertaConfig::named("roberta_tiny");
  c.num_classes = 4;
  c.dropout = c.attention_dropout = 0;
  c.layerdrop = 0.999;  // every layer dropped, almost surely
  manual_seed(1);
  Roberta model(c);
  const Tensor ids = from_vector<int64_t>({0, 5, 6, 2, 0, 7, 2, 1}, {2, 4});
  EXPECT_EQ(model.forward(ids).shape(), Shape({2, 4, 1000}));
  EXPECT_EQ(model.class_logits(model.features(ids)).shape(), Shape({2, 4}));
  // Training with every layer dropped: the features are the embeddings alone, whatever the layers hold.
  const Tensor dropped = model.features(ids);
  model.eval();
  const Tensor kept = model.features(ids);
  c.layers = 0;
  manual_seed(1);
  Roberta no_layers(c);
  no_layers.load_state_dict(model.state_dict(), /*strict=*/false);
  no_layers.eval();
  const Tensor embeddings = no_layers.features(ids);
  double dropped_diff = 0, kept_diff = 0;
  for (const auto& i : testing::all_indices(embeddings.shape())) {
    dropped_diff = std::max(dropped_diff, std::abs(testing::at(dropped, i) - testing::at(embeddings, i)));
    kept_diff = std::max(kept_diff, std::abs(testing::at(kept, i) - testing::at(embeddings, i)));
  }
  EXPECT_EQ(dropped_diff, 0.0);
  EXPECT_GT(kept_diff, 1e-3);
}

TEST(Roberta, BadInputIsAnError) {
  Roberta model(RobertaConfig::named("roberta_tiny"));
  EXPECT_QN_ERROR(model.forward(from_vector<int64_t>({0, 5})), "expected input_ids i64 (N, T)");
  EXPECT_QN_ERROR(model.forward(zeros({1, 200}, DType::i64)), "needs position 201");
  EXPECT_QN_ERROR(model.forward(from_vector<int64_t>({0, 1000}, {1, 2})), "index 1000");
  EXPECT_QN_ERROR(model.class_logits(model.features(from_vector<int64_t>({0, 5}, {1, 2}))), "no classification head");
  RobertaConfig none = RobertaConfig::named("roberta_tiny");
  none.lm_head = false;
  EXPECT_QN_ERROR(Roberta{none}, "needs the LM head, a classification head or both");
}

}  // namespace
}  // namespace qn::models
