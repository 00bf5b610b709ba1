// Scalar int8/int4 quantization and its noise (docs/METHOD.md, scalar quantization).
#include "nn/quant/scalar.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "kernels/elementwise.h"
#include "nn/linear.h"
#include "tests/reference.h"

namespace qn::nn::quant {
namespace {

using testing::at;

void expect_values(const Tensor& t, const std::vector<double>& expected, double tolerance = 1e-6) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(at(t, {static_cast<int64_t>(i)}), expected[i], tolerance * std::max(1.0, std::abs(expected[i])))
        << "element " << i;
  }
}

// Oracle 12.
TEST(ScalarQuant, MinMaxInt8) {
  const Tensor w = from_vector<float>({-0.6f, 0.0f, 0.9f, 1.5f});
  const QParams q = observe(w, 8, Observer::kMinMax);
  EXPECT_FLOAT_EQ(q.scale[0], 0.0082352934f);
  EXPECT_EQ(q.zero_point[0], 73);
  expect_values(kernels::fake_quantize(w, q), {-0.6011765, 0.0, 0.8976471, 1.4988235});
}

// Oracle 13: the scale in f32 makes -1 / s = -127.49999..., so z = 127 (f64 would give 128).
TEST(ScalarQuant, ZeroPointIsComputedInF32) {
  const Tensor w = from_vector<float>({-1.0f, -0.5f, 0.0f, 0.5f, 1.0f});
  const QParams q = observe(w, 8, Observer::kMinMax);
  EXPECT_FLOAT_EQ(q.scale[0], 0.0078431377f);
  EXPECT_EQ(q.zero_point[0], 127);
  expect_values(kernels::fake_quantize(w, q), {-0.9960785, -0.5019608, 0.0, 0.5019608, 0.9960785});
}

// Oracle 14: the range always includes 0.
TEST(ScalarQuant, PositiveOnlyTensorKeepsZeroInRange) {
  const Tensor w = from_vector<float>({0.1f, 0.2f, 0.7f});
  const QParams q = observe(w, 8, Observer::kMinMax);
  EXPECT_EQ(q.zero_point[0], 0);
  EXPECT_FLOAT_EQ(q.scale[0], 0.0027450980f);
  expect_values(kernels::fake_quantize(w, q), {0.0988235, 0.2003922, 0.7});
}

// Oracle 15: int4 spans 15 steps (fairseq's int4 kept the 8-bit scale and saturated).
TEST(ScalarQuant, Int4UsesItsOwnScale) {
  const Tensor w = from_vector<float>({-0.6f, 0.0f, 0.9f, 1.5f});
  const QParams q = observe(w, 4, Observer::kMinMax);
  EXPECT_FLOAT_EQ(q.scale[0], 0.14f);
  EXPECT_EQ(q.zero_point[0], 4);
  const Tensor quantized = kernels::fake_quantize(w, q);
  expect_values(quantized, {-0.56, 0.0, 0.84, 1.54});
  double max_error = 0;
  for (int64_t i = 0; i < 4; ++i) max_error = std::max(max_error, std::abs(at(quantized, {i}) - at(w, {i})));
  EXPECT_NEAR(max_error, 0.06, 1e-6);
  EXPECT_LE(max_error, 0.07);
  // fairseq's saturating "int4" of [-1, -0.5, 0, 0.5, 1] is [-0.996, -0.878, -0.878, -0.878, -0.878].
  const Tensor symmetric =
      kernels::fake_quantize(from_vector<float>({-1, -0.5, 0, 0.5, 1}),
                             observe(from_vector<float>({-1, -0.5, 0, 0.5, 1}), 4, Observer::kMinMax));
  EXPECT_GT(at(symmetric, {4}), 0.9);
  EXPECT_NEAR(at(symmetric, {2}), 0.0, 1e-7);
}

// Oracle 16: |w - Q(w)| <= s/2 on [min, max], int8 and int4, every observer's own range.
TEST(ScalarQuant, RoundTripErrorIsAtMostHalfAStep) {
  Generator gen(0);
  const Tensor w = randn({1000}, DType::f32, &gen);
  for (const int bits : {8, 4}) {
    const QParams q = observe(w, bits, Observer::kMinMax);
    const Tensor quantized = kernels::fake_quantize(w, q);
    double max_error = 0;
    for (int64_t i = 0; i < 1000; ++i) max_error = std::max(max_error, std::abs(at(quantized, {i}) - at(w, {i})));
    const kernels::MinMax m = kernels::min_max(w, false);
    EXPECT_FLOAT_EQ(q.scale[0], (m.max[0] - m.min[0]) / static_cast<float>((1 << bits) - 1));
    EXPECT_LE(max_error, q.scale[0] / 2 * (1 + 1e-5)) << bits << " bits";
    EXPECT_GT(max_error, q.scale[0] / 4) << "suspiciously exact";
  }
}

TEST(ScalarQuant, PerChannelIsSymmetricPerOutputChannel) {
  const Tensor w = from_vector<float>({-2.0f, 1.0f, 0.5f, 0.25f}, {2, 2});
  const QParams q = observe(w, 8, Observer::kPerChannel);
  ASSERT_EQ(q.scale.size(), 2u);
  EXPECT_FLOAT_EQ(q.scale[0], 2.0f / 127.5f);
  EXPECT_FLOAT_EQ(q.scale[1], 0.5f / 127.5f);
  EXPECT_EQ(q.zero_point[0], 128);
  const Tensor quantized = kernels::fake_quantize(w, q);
  EXPECT_NEAR(at(quantized, {1, 0}), 0.5, 0.5 / 255);
  EXPECT_NEAR(at(quantized, {0, 1}), 1.0, 2.0 / 255);
}

// Where clipping the edges costs less than the coarser step saves (dense edges, as in a uniform sample),
// the histogram search clips, and the clipped range gives a lower total squared error than min-max. A
// lone far outlier is kept: clipping it would cost more than it saves. Torch's numbers are in tests/parity.
TEST(ScalarQuant, HistogramClipsWhereItLowersTheL2Error) {
  Generator gen(0);
  const Tensor w = rand({4096}, DType::f32, &gen);
  const auto [lo, hi] = histogram_range(w, 8);
  const kernels::MinMax m = kernels::min_max(w, false);
  EXPECT_LT(hi, m.max[0]);
  EXPECT_GE(lo, m.min[0]);
  auto squared_error = [&](const QParams& q) {
    const Tensor quantized = kernels::fake_quantize(w, q);
    double total = 0;
    for (int64_t i = 0; i < w.numel(); ++i) total += std::pow(at(quantized, {i}) - at(w, {i}), 2);
    return total;
  };
  EXPECT_LT(squared_error(observe(w, 8, Observer::kHistogram)), squared_error(observe(w, 8, Observer::kMinMax)));
}

Linear int_linear(int64_t in, int64_t out, NoiseMode mode, double p, Observer observer, Generator* gen,
                  int64_t update_step = 1000) {
  QuantNoise noise;
  noise.mode = mode;
  noise.p = p;
  noise.observer = observer;
  noise.generator = gen;
  noise.update_step = update_step;
  return Linear(LinearOptions(in, out).bias(false).quant_noise(noise));
}

// Oracle 17: p = 0 in training gives clamp(W); eval and p = 1 give Q(W); p = 0.3 quantizes 30% of entries.
TEST(ScalarQuant, NoiseMixesQuantizedAndClampedWeights) {
  Generator gen(17);
  Linear layer = int_linear(1000, 100, NoiseMode::kInt8, 0.0, Observer::kMinMax, &gen);
  const Tensor w = layer.weight.clone();
  const QParams q = observe(w, 8, Observer::kMinMax);
  const Tensor quantized = kernels::fake_quantize(w, q);
  const Tensor clamped = kernels::clamp(w, q.low(0), q.high(0));
  const Tensor train_p0 = layer.effective_weight();
  layer.eval();
  const Tensor eval = layer.effective_weight();
  for (const auto& index : testing::all_indices(w.shape())) {
    ASSERT_EQ(at(train_p0, index), at(clamped, index));
    ASSERT_EQ(at(eval, index), at(quantized, index));
  }

  Linear noisy = int_linear(1000, 100, NoiseMode::kInt8, 0.3, Observer::kMinMax, &gen);
  const Tensor mixed = noisy.effective_weight();
  const Tensor grid = kernels::fake_quantize(noisy.weight, observe(noisy.weight, 8, Observer::kMinMax));
  int64_t eligible = 0, changed = 0;
  for (const auto& index : testing::all_indices(mixed.shape())) {
    if (at(grid, index) == at(noisy.weight, index)) continue;  // on the grid already: indistinguishable
    ++eligible;
    changed += at(mixed, index) != at(noisy.weight, index);
  }
  EXPECT_GT(eligible, 99000);
  EXPECT_NEAR(static_cast<double>(changed) / static_cast<double>(eligible), 0.3, 0.0073);
}

// Oracle 18: the gradient passes where W lies inside the range and stops where it was clipped. For
// [-1, -0.5, 0, 0.5, 1], z = 127 puts -1 outside [-127 s, 128 s].
TEST(ScalarQuant, GradientIsStraightThroughInsideTheRange) {
  Generator gen(18);
  Linear layer = int_linear(5, 1, NoiseMode::kInt8, 1.0, Observer::kMinMax, &gen);
  {
    NoGradGuard no_grad;
    layer.weight.copy_(from_vector<float>({-1, -0.5, 0, 0.5, 1}, {1, 5}));
  }
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5}, {1, 5});
  sum(layer(x)).backward();
  expect_values(layer.weight.grad().reshape({5}), {0, 2, 3, 4, 5});
  EXPECT_NEAR(at(layer.effective_weight(), {0, 0}), -0.9960785, 1e-6);  // clamp(-1) quantized
}

// Oracle 19: (s, z) are recomputed on forwards 0, 1000 and 2000 only; eval forwards count too.
TEST(ScalarQuant, ParametersFollowTheUpdateStep) {
  Generator gen(19);
  Linear layer = int_linear(4, 2, NoiseMode::kInt8, 0.5, Observer::kMinMax, &gen, 1000);
  const Tensor x = ones({1, 4});
  layer(x);
  const float first = layer.noise()->qparams().scale[0];
  {
    NoGradGuard no_grad;
    mul_(layer.weight, 2.0);
  }
  for (int i = 1; i < 1000; ++i) {
    layer.train(i % 2 == 0);  // eval forwards advance the counter as well
    layer(x);
  }
  EXPECT_EQ(layer.noise()->forwards(), 1000);
  EXPECT_EQ(layer.noise()->qparams().scale[0], first);
  layer(x);  // forward 1000
  EXPECT_FLOAT_EQ(layer.noise()->qparams().scale[0], 2 * first);
}

}  // namespace
}  // namespace qn::nn::quant
