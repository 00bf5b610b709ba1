// Each model under bf16 autocast, against the same model in f32: the loss to bf16's precision, and gradients of
// the f32 parameters in f32 that point the same way.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "models/registry.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

using testing::at;

struct Case {
  const char* name;
  const char* overrides;
  Tensor inputs, targets;
  double min_cosine = 0.999;
};

std::vector<Case> cases() {
  Generator gen(3);
  const Tensor tokens = randint(4, 200, {2, 12}, DType::i64, &gen);
  Tensor mlm_targets = full({2, 12}, -100.0, DType::i64);
  for (int64_t i : {1, 4, 7}) mlm_targets.select(1, i).copy_(tokens.select(1, i));
  return {
      {"transformer_lm_tiny", R"({"dropout": 0})", tokens, randint(4, 200, {2, 12}, DType::i64, &gen)},
      {"transformer_lm_tiny", R"({"dropout": 0, "adaptive_input": false, "adaptive_softmax": false,
                                  "tie_adaptive_weights": false, "tie_adaptive_proj": false})",
       tokens, randint(4, 200, {2, 12}, DType::i64, &gen)},
      {"roberta_tiny", R"({"dropout": 0, "attention_dropout": 0})", tokens, mlm_targets},
      {"efficientnet_tiny", R"({"dropout": 0, "num_classes": 10})", randn({8, 3, 64, 64}, DType::f32, &gen),
       from_vector<int64_t>({1, 7, 3, 0, 2, 9, 4, 4}),
       // BatchNorm on 8 images normalizes the last blocks' 2x2 planes by 32 values a channel: it magnifies the
       // rounding of the convolutions before it (0.9975 with 4 images at 32x32, 0.9986 here).
       0.997},
  };
}

TEST(Autocast, EachModelTrainsInBf16AsInF32) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(std::string(c.name) + " " + c.overrides);
    manual_seed(5);
    const BuiltModel built = build_model(c.name, nlohmann::json::parse(c.overrides));
    const std::vector<Tensor> params = built.module->parameters();
    const Tensor full = built.loss(c.inputs, c.targets);
    const std::vector<Tensor> want = grad({full}, params);
    Tensor mixed;
    {
      AutocastGuard autocast(DType::bf16);
      mixed = built.loss(c.inputs, c.targets);
    }
    ASSERT_EQ(mixed.dtype(), DType::f32);
    EXPECT_NE(mixed.item<double>(), full.item<double>());  // the GEMMs did run in bf16
    EXPECT_NEAR(mixed.item<double>(), full.item<double>(), 2e-2 * std::abs(full.item<double>()));
    const std::vector<Tensor> got = grad({mixed}, params);
    double dot = 0, got_norm = 0, want_norm = 0;
    for (size_t p = 0; p < params.size(); ++p) {
      if (!want[p].defined()) continue;
      ASSERT_TRUE(got[p].defined());
      ASSERT_EQ(got[p].dtype(), DType::f32);
      for (const auto& i : testing::all_indices(got[p].shape())) {
        const double g = at(got[p], i), w = at(want[p], i);
        ASSERT_TRUE(std::isfinite(g));
        dot += g * w;
        got_norm += g * g;
        want_norm += w * w;
      }
    }
    // The angle between the two gradients: bf16's rounding turns it by little.
    EXPECT_GT(dot / std::sqrt(got_norm * want_norm), c.min_cosine);
    EXPECT_NEAR(std::sqrt(got_norm), std::sqrt(want_norm), 2e-2 * std::sqrt(want_norm));
  }
}

}  // namespace
}  // namespace qn::models
