// Transformer LM: the paper's 16-layer model's parameter count and size rows (docs/MODELS.md, the language model;
// docs/METHOD.md, published sizes: 941.98 / 235.49 / 117.75 MiB, iPQ 38.66 MiB through the shipped recipe), fairseq's
// parameter names, sinusoidal positions against their formula in f64, the adaptive softmax's distribution and loss,
// LayerDrop, bad input.
#include "models/transformer_lm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/registry.h"
#include "models/sequence.h"
#include "nn/quant/ipq_config.h"
#include "nn/quant/size_report.h"
#include "tests/models/parameters.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

using testing::at;

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double largest = 0;
  for (const auto& i : testing::all_indices(a.shape())) largest = std::max(largest, std::abs(at(a, i) - at(b, i)));
  return largest;
}

TEST(TransformerLM, Wiki103CountAndSizeRows) {
  TransformerLM lm(TransformerLMConfig::named("transformer_lm_wiki103"));
  EXPECT_EQ(testing::parameter_count(lm), 246933504);
  for (const char* name :
       {"decoder.embed_tokens.embeddings.2.0.weight", "decoder.embed_tokens.embeddings.0.1.weight",
        "decoder.layers.15.self_attn.q_proj.weight", "decoder.layers.3.fc1.bias",
        "decoder.layers.0.final_layer_norm.weight", "decoder.adaptive_softmax.head.class_proj.weight"}) {
    EXPECT_TRUE(testing::has_parameter(lm, name)) << name;
  }
  EXPECT_FALSE(testing::has_parameter(lm, "decoder.layer_norm.weight"));  // no_decoder_final_norm

  using nn::quant::kMiB;
  nn::quant::SizeOptions o;
  EXPECT_NEAR(nn::quant::size_report(lm, o).total_bytes() / kMiB, 941.98, 5e-3);
  o.other_bits = 8;
  EXPECT_NEAR(nn::quant::size_report(lm, o).total_bytes() / kMiB, 235.49, 5e-3);
  o.other_bits = 4;
  EXPECT_NEAR(nn::quant::size_report(lm, o).total_bytes() / kMiB, 117.75, 5e-3);

  o.other_bits = 32;
  o.planned = nn::quant::plan_ipq(
      lm, nn::quant::IpqConfig::load(std::string(QN_SOURCE_DIR) + "/tools/recipes/transformer_lm_wiki103_ipq.yaml"));
  EXPECT_EQ(o.planned.size(), 32u + 6u + 64u);
  const nn::quant::SizeReport ipq = nn::quant::size_report(lm, o);
  EXPECT_NEAR(ipq.code_bytes / kMiB, 37.575, 5e-4);
  EXPECT_NEAR(ipq.centroid_bytes / kMiB, 0.268, 5e-4);
  EXPECT_NEAR(ipq.other_bytes / kMiB, 0.820, 5e-4);
  EXPECT_NEAR(ipq.total_bytes() / kMiB, 38.66, 5e-3);
}

TEST(TransformerLM, SmallAndTinyConfigs) {
  TransformerLM small(TransformerLMConfig::named("transformer_lm_small"));
  // 32000 x 512 tied embeddings + 6 x (4 (512^2 + 512) + 2 x 512 x 2048 + 2048 + 512 + 4 x 512) + final LN
  EXPECT_EQ(testing::parameter_count(small),
            32000 * 512 + 6 * (4 * (512 * 512 + 512) + 2 * 512 * 2048 + 2048 + 512 + 4 * 512) + 2 * 512);
  EXPECT_TRUE(testing::has_parameter(small, "decoder.embed_tokens.weight"));
  EXPECT_TRUE(testing::has_parameter(small, "decoder.layer_norm.bias"));
  EXPECT_FALSE(testing::has_parameter(small, "decoder.output_projection.weight"));
  EXPECT_QN_ERROR(TransformerLMConfig::named("transformer_lm_huge"), "transformer_lm_huge");
}

// fairseq's table, computed here in f64 from its definition.
TEST(TransformerLM, SinusoidalPositionsFollowTheFormula) {
  const Tensor tokens = from_vector<int64_t>({5, 7, 1, 9, 1, 1, 4, 8}, {2, 4});
  const Tensor positions = position_ids(tokens, 1);
  const std::vector<int64_t> expected = {2, 3, 1, 4, 1, 1, 2, 3};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(positions.data_ptr<int64_t>()[i], expected[i]);
  const int64_t dim = 10, half = 5;
  const Tensor table = sinusoidal_embedding(positions, dim, 1);
  for (int64_t k = 0; k < 8; ++k) {
    const auto p = static_cast<double>(expected[static_cast<size_t>(k)]);
    for (int64_t i = 0; i < half; ++i) {
      const double w = std::pow(10000.0, -static_cast<double>(i) / static_cast<double>(half - 1));
      const double s = p == 1 ? 0 : std::sin(p * w), c = p == 1 ? 0 : std::cos(p * w);
      EXPECT_NEAR(at(table, {k / 4, k % 4, i}), s, 1e-6);
      EXPECT_NEAR(at(table, {k / 4, k % 4, half + i}), c, 1e-6);
    }
  }
  const Tensor mask = padding_mask(tokens, 1);
  ASSERT_TRUE(mask.defined());
  EXPECT_EQ(mask.data_ptr<uint8_t>()[2], 1);
  EXPECT_EQ(mask.data_ptr<uint8_t>()[3], 0);
  EXPECT_FALSE(padding_mask(from_vector<int64_t>({5, 7}, {1, 2}), 1).defined());
}

// Every row of the adaptive log-probabilities is a distribution, and the training loss (head over every row,
// tails over their rows) equals the negative log-probability of the targets read off the full table.
TEST(TransformerLM, AdaptiveSoftmaxIsADistributionAndItsLossAgrees) {
  TransformerLMConfig c = TransformerLMConfig::named("transformer_lm_tiny");
  c.dropout = 0;
  manual_seed(11);
  TransformerLM lm(c);
  lm.eval();
  // Targets in every band, and one padding target (ignored).
  const Tensor tokens = from_vector<int64_t>({4, 250, 999, 17, 600, 3, 1, 1}, {2, 4});
  const Tensor targets = from_vector<int64_t>({250, 999, 17, 600, 3, 201, 501, 1}, {2, 4});
  const Tensor log_probs = lm.forward(tokens);
  ASSERT_EQ(log_probs.shape(), Shape({2, 4, 1000}));
  double expected = 0;
  int counted = 0;
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t t = 0; t < 4; ++t) {
      double total = 0;
      for (int64_t v = 0; v < 1000; ++v) total += std::exp(at(log_probs, {n, t, v}));
      EXPECT_NEAR(total, 1.0, 1e-5);
      const int64_t target = targets.data_ptr<int64_t>()[n * 4 + t];
      if (target == 1) continue;
      expected -= at(log_probs, {n, t, target});
      ++counted;
    }
  }
  EXPECT_NEAR(lm.loss(tokens, targets).item<float>(), expected / counted, 1e-5);
}

// BuiltModel::loss skips the full-vocabulary output that run() forms; the loss must be run()'s all the same,
// with adaptive softmax and with a plain tied output.
TEST(TransformerLM, BuiltModelLossIsRunsLoss) {
  for (const char* overrides : {R"({"dropout": 0})", R"({"dropout": 0, "adaptive_input": false,
                                   "adaptive_softmax": false, "tie_adaptive_weights": false,
                                   "tie_adaptive_proj": false})"}) {
    SCOPED_TRACE(overrides);
    manual_seed(5);
    const BuiltModel built = build_model("transformer_lm_tiny", nlohmann::json::parse(overrides));
    built.module->eval();
    const Tensor tokens = from_vector<int64_t>({4, 250, 999, 17, 600, 3, 1, 1}, {2, 4});
    const Tensor targets = from_vector<int64_t>({250, 999, 17, 600, 3, 201, 501, 1}, {2, 4});
    const double from_run = built.run(tokens, targets).loss.item<double>();
    EXPECT_GT(from_run, 1.0);
    EXPECT_NEAR(built.loss(tokens, targets).item<double>(), from_run, 1e-6 * from_run);
  }
}

// A checkpoint trained with Quant-Noise is fine-tuned, compressed and evaluated as the same model without noise
// (models::without_quant_noise): same parameter names, and with block noise the same outputs in eval mode. The
// Transformer LM on plain embeddings and RoBERTa carry fairseq's extra embedding Linear only with noise.
TEST(TransformerLM, WithoutQuantNoiseKeepsEveryParameter) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"transformer_lm_tiny", R"({"adaptive_input": false, "adaptive_softmax": false, "tie_adaptive_weights": false,
                                  "tie_adaptive_proj": false, "quant_noise_pq": 0.1})"},
      {"transformer_lm_tiny", R"({"quant_noise_scalar": 0.1, "quant_bits": 4})"},
      {"roberta_tiny", R"({"quant_noise_pq": 0.2, "quant_noise_pq_block_size": 4})"},
      {"roberta_tiny", R"({"quant_noise_scalar": 0.1})"},
      {"efficientnet_tiny", R"({"num_classes": 4, "quant_noise_pq": 0.1})"}};
  for (const auto& [name, config] : cases) {
    SCOPED_TRACE(name + " " + config);
    const nlohmann::json noisy = nlohmann::json::parse(config);
    const nlohmann::json quiet = without_quant_noise(name, noisy);
    EXPECT_FALSE(quiet.contains("quant_noise_pq") || quiet.contains("quant_noise_scalar")) << quiet.dump();
    manual_seed(3);
    const BuiltModel trained = build_model(name, noisy);
    const BuiltModel loaded = build_model(name, quiet);
    loaded.module->load_state_dict(trained.module->state_dict());  // strict: the same names and shapes
    trained.module->eval();
    loaded.module->eval();
    const Tensor inputs = name.starts_with("efficientnet") ? randn({2, 3, 32, 32})
                                                           : from_vector<int64_t>({4, 250, 999, 17, 600, 3}, {1, 6});
    // Block noise is off in eval mode; scalar noise, as fairseq's IntLinear, quantizes every weight in eval mode,
    // so there only the parameters are compared (by the strict load above).
    if (!noisy.contains("quant_noise_scalar")) {
      EXPECT_EQ(max_abs_diff(trained.run(inputs).logits, loaded.run(inputs).logits), 0.0);
    }
  }
  const nlohmann::json noiseless = nlohmann::json::parse(R"({"layers": 1})");
  EXPECT_EQ(without_quant_noise("roberta_tiny", noiseless), noiseless);  // nothing to keep
}

TEST(TransformerLM, LayerDropSkipsLayersInTrainingOnly) {
  TransformerLMConfig c = TransformerLMConfig::named("transformer_lm_tiny");
  c.dropout = 0;
  c.layerdrop = 0.999;  // every layer dropped, almost surely
  manual_seed(2);
  TransformerLM lm(c);
  const Tensor tokens = from_vector<int64_t>({4, 5, 6, 7}, {1, 4});
  c.layers = 0;
  manual_seed(2);
  TransformerLM no_layers(c);
  no_layers.load_state_dict(lm.state_dict(), /*strict=*/false);
  EXPECT_EQ(max_abs_diff(lm.forward(tokens), no_layers.forward(tokens)), 0.0);
  lm.eval();
  no_layers.eval();
  EXPECT_GT(max_abs_diff(lm.forward(tokens), no_layers.forward(tokens)), 1e-3);
}

TEST(TransformerLM, BadInputIsAnError) {
  TransformerLM lm(TransformerLMConfig::named("transformer_lm_tiny"));
  EXPECT_QN_ERROR(lm.forward(from_vector<int64_t>({4, 1000}, {1, 2})), "token id 1000");
  EXPECT_QN_ERROR(lm.forward(from_vector<int64_t>({4, 5})), "expected token ids i64 (N, T)");
  EXPECT_QN_ERROR(lm.loss(from_vector<int64_t>({4, 5}, {1, 2}), from_vector<int64_t>({1, 1}, {1, 2})),
                  "every target is padding");
  TransformerLMConfig c = TransformerLMConfig::named("transformer_lm_tiny");
  c.cutoffs = {600, 500};
  EXPECT_QN_ERROR(TransformerLM{c}, "cutoffs must increase");
}

}  // namespace
}  // namespace qn::models
