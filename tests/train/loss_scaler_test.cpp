// Dynamic loss scaling: the scale's course against the rule worked by hand, exact unscaling, overflow detection,
// the minimum scale, and saved state checked before it is taken.
#include "train/loss_scaler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "tests/reference.h"

namespace qn::train {
namespace {

using testing::at;

TEST(DynamicLossScaler, BacksOffOnOverflowAndGrowsAfterTheInterval) {
  DynamicLossScaler scaler({.init_scale = 8, .growth_factor = 2, .backoff_factor = 0.5, .growth_interval = 3});
  // (overflowed, scale after, tracker after), worked by hand from the rule in loss_scaler.h.
  const struct {
    bool overflowed;
    double scale;
    int64_t tracker;
  } steps[] = {{false, 8, 1}, {false, 8, 2}, {false, 16, 0}, {true, 8, 0},  {false, 8, 1}, {false, 8, 2},
               {true, 4, 0},  {true, 2, 0},  {false, 2, 1},  {false, 2, 2}, {false, 4, 0}};
  EXPECT_EQ(scaler.scale(), 8);
  int n = 0;
  for (const auto& step : steps) {
    scaler.update(step.overflowed);
    EXPECT_EQ(scaler.scale(), step.scale) << "step " << n;
    EXPECT_EQ(scaler.growth_tracker(), step.tracker) << "step " << n;
    ++n;
  }
}

TEST(DynamicLossScaler, StopsAtTheMinimumAndAtTheLargestDouble) {
  DynamicLossScaler low({.init_scale = 1, .min_scale = 0.5});
  low.update(true);
  EXPECT_EQ(low.scale(), 0.5);
  EXPECT_QN_ERROR(low.update(true), "DynamicLossScaler", "overflowed at loss scale 0.5", "probably exploding");
  EXPECT_EQ(low.scale(), 0.5);  // unchanged by the refusal

  DynamicLossScaler high({.init_scale = std::numeric_limits<double>::max(), .growth_interval = 1});
  high.update(false);
  EXPECT_EQ(high.scale(), std::numeric_limits<double>::max());
}

TEST(DynamicLossScaler, ScalesTheLossAndUnscalesGradientsExactly) {
  DynamicLossScaler scaler({.init_scale = 1024});
  Tensor w = from_vector<float>({0.5f, -1.25f, 3.0f}).set_requires_grad(true);
  Tensor v = from_vector<double>({2.0, 7.0}).set_requires_grad(true);
  Tensor unused = from_vector<float>({1.0f}).set_requires_grad(true);  // no gradient: skipped
  const Tensor loss = sum(mul(w, w));
  const Tensor scaled = scaler.scale_loss(loss);
  EXPECT_EQ(scaled.item<double>(), loss.item<double>() * 1024);
  scaled.backward();
  scaler.scale_loss(sum(mul(v, 3.0))).backward();                 // f64 gradients too
  EXPECT_EQ(at(w.grad(), {1}), -2.5 * 1024);                      // d(w^2)/dw = 2w, times the scale
  EXPECT_EQ(scaler.unscale({w, v, unused}).item<double>(), 6.0);  // the largest unscaled magnitude
  const double want_w[] = {1.0, -2.5, 6.0};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(at(w.grad(), {i}), want_w[i]);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(at(v.grad(), {i}), 3.0);
}

TEST(DynamicLossScaler, FindsAnyInfOrNanInTheGradients) {
  DynamicLossScaler scaler({.init_scale = 4});
  for (const double bad : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN()}) {
    Tensor clean = from_vector<float>({1, 2, 3, 4}).set_requires_grad(true);
    Tensor dirty = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8}).set_requires_grad(true);
    sum(mul(clean, 2.0)).backward();
    Tensor weights = from_vector<double>({1, 1, 1, 1, 1, 1, bad, 1});  // element 6's gradient is `bad`
    sum(mul(dirty, weights)).backward();
    EXPECT_FALSE(std::isfinite(scaler.unscale({clean, dirty}).item<double>())) << bad;
    EXPECT_TRUE(std::isfinite(scaler.unscale({clean}).item<double>())) << bad;
  }
}

TEST(DynamicLossScaler, TakesSavedStateOnlyWhenItIsWhole) {
  DynamicLossScaler saved({.init_scale = 64, .growth_interval = 5});
  saved.update(true);
  saved.update(false);
  saved.update(false);
  DynamicLossScaler restored({.init_scale = 64, .growth_interval = 5});
  restored.load_state(saved.state());
  EXPECT_EQ(restored.scale(), 32);
  EXPECT_EQ(restored.growth_tracker(), 2);

  const nlohmann::json bad[] = {
      nullptr,
      {{"scale", 8}},
      {{"scale", "8"}, {"growth_tracker", 0}},
      {{"scale", -8}, {"growth_tracker", 0}},
      {{"scale", 0}, {"growth_tracker", 0}},
      {{"scale", 8}, {"growth_tracker", 5}},
      {{"scale", 8}, {"growth_tracker", 1.5}},
      {{"scale", 8}, {"growth_tracker", -1}},
  };
  for (const nlohmann::json& state : bad) {
    EXPECT_QN_ERROR(restored.load_state(state), "DynamicLossScaler");
    EXPECT_EQ(restored.scale(), 32) << state.dump();
    EXPECT_EQ(restored.growth_tracker(), 2) << state.dump();
  }
}

TEST(DynamicLossScaler, RefusesOptionsThatCannotWork) {
  EXPECT_QN_ERROR(DynamicLossScaler({.init_scale = 0}), "init_scale");
  EXPECT_QN_ERROR(DynamicLossScaler({.init_scale = std::numeric_limits<double>::infinity()}), "init_scale");
  EXPECT_QN_ERROR(DynamicLossScaler({.growth_factor = 1}), "growth_factor");
  EXPECT_QN_ERROR(DynamicLossScaler({.backoff_factor = 1}), "backoff_factor");
  EXPECT_QN_ERROR(DynamicLossScaler({.growth_interval = 0}), "growth_interval");
  EXPECT_QN_ERROR(DynamicLossScaler({.init_scale = 1, .min_scale = 2}), "min_scale");
}

}  // namespace
}  // namespace qn::train
