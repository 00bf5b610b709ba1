// Quant-Noise in Linear, Conv2d and Embedding (docs/METHOD.md, Quant-Noise): proxy noise.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/profile.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "tests/reference.h"

namespace qn::nn {
namespace {

using quant::NoiseMode;
using quant::QuantNoise;
using testing::at;

QuantNoise proxy(double p, int64_t block_size, Generator* gen) {
  QuantNoise q;
  q.p = p;
  q.block_size = block_size;
  q.generator = gen;
  return q;
}

void expect_bit_identical(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (const auto& index : testing::all_indices(a.shape())) ASSERT_EQ(at(a, index), at(b, index));
}

// A noised weight, viewed as (rows, units, unit): each unit is all zeros or exactly scale * W.
// Returns the number of dropped units.
int64_t check_units(const Tensor& noised, const Tensor& weight, int64_t rows, int64_t unit, double scale) {
  const Tensor n = noised.reshape({rows, -1, unit}), w = weight.reshape({rows, -1, unit});
  int64_t dropped = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n.size(1); ++j) {
      const bool zero = at(n, {r, j, 0}) == 0.0;
      dropped += zero;
      for (int64_t k = 0; k < unit; ++k) {
        const double expected = zero ? 0.0 : static_cast<double>(static_cast<float>(scale * at(w, {r, j, k})));
        EXPECT_EQ(at(n, {r, j, k}), expected) << "row " << r << " unit " << j << " entry " << k;
      }
    }
  }
  return dropped;
}

// Oracle 1: p = 0 leaves every layer bit-identical in train and eval, and draws no random numbers.
TEST(QuantNoise, RateZeroIsTheIdentityAndDrawsNothing) {
  Generator gen(1);
  manual_seed(3);
  Linear plain(LinearOptions(16, 8));
  manual_seed(3);
  Linear noised(LinearOptions(16, 8).quant_noise(proxy(0.0, 8, &gen)));
  const Tensor x = randn({4, 16});
  for (const bool training : {true, false}) {
    plain.train(training);
    noised.train(training);
    expect_bit_identical(noised(x), plain(x));
  }
  manual_seed(3);
  Conv2d conv(Conv2dOptions(2, 4, 3));
  manual_seed(3);
  Conv2d conv_noised(Conv2dOptions(2, 4, 3).quant_noise(proxy(0.0, 9, &gen)));
  const Tensor image = randn({1, 2, 5, 5});
  expect_bit_identical(conv_noised(image), conv(image));
  manual_seed(3);
  Embedding table(EmbeddingOptions(10, 16));
  manual_seed(3);
  Embedding table_noised(EmbeddingOptions(10, 16).quant_noise(proxy(0.0, 8, &gen)));
  const Tensor ids = from_vector<int64_t>({1, 7, 3});
  expect_bit_identical(table_noised(ids), table(ids));
  EXPECT_EQ(gen.offset(), 0u);
}

// Oracle 2: in eval the noised layer is the plain layer and the weight is untouched.
TEST(QuantNoise, EvalIsTheIdentity) {
  Generator gen(1);
  manual_seed(3);
  Linear plain(LinearOptions(16, 8));
  manual_seed(3);
  Linear noised(LinearOptions(16, 8).quant_noise(proxy(0.5, 8, &gen)));
  const Tensor before = noised.weight.clone();
  plain.eval();
  noised.eval();
  const Tensor x = randn({4, 16});
  expect_bit_identical(noised(x), plain(x));
  expect_bit_identical(noised.weight, before);
  EXPECT_EQ(gen.offset(), 0u);
}

// Oracle 3: the stored weight never changes (fairseq's hook overwrote it: in compat mode it is all zeros
// after 21 forwards at p = 0.5).
TEST(QuantNoise, TrainingForwardsNeverWriteTheWeight) {
  Generator gen(0);
  Linear layer(LinearOptions(32, 16).quant_noise(proxy(0.5, 8, &gen)));
  const Tensor before = layer.weight.clone();
  const Tensor x = randn({2, 32});
  for (int i = 0; i < 100; ++i) layer(x);
  expect_bit_identical(layer.weight, before);

  QuantNoise compat = proxy(0.5, 8, &gen);
  compat.destructive = true;
  Linear fairseq(LinearOptions(32, 16).quant_noise(compat));
  for (int i = 0; i < 21; ++i) fairseq(x);
  int64_t zeros = 0;
  for (const auto& index : testing::all_indices(fairseq.weight.shape())) zeros += at(fairseq.weight, index) == 0.0;
  EXPECT_EQ(zeros, fairseq.weight.numel());
}

// The cost accounting bench_models reports: noise forwards add to the total only while timing is on, and the
// backward of the noise (straight_through) is profiled by name.
TEST(QuantNoise, TimingCountsNoiseForwardsOnlyWhenOn) {
  Generator gen(0);
  Linear layer(LinearOptions(64, 64).quant_noise(proxy(0.5, 8, &gen)));
  const Tensor x = randn({4, 64});
  quant::reset_noise_time();
  layer(x);
  EXPECT_EQ(quant::noise_forward_seconds(), 0.0);
  quant::set_noise_timing(true);
  autograd::reset_backward_profile();
  autograd::set_backward_profiling(true);
  sum(layer(x)).backward();
  quant::set_noise_timing(false);
  autograd::set_backward_profiling(false);
  EXPECT_GT(quant::noise_forward_seconds(), 0.0);
  const double counted = quant::noise_forward_seconds();
  layer(x);
  EXPECT_EQ(quant::noise_forward_seconds(), counted);
  const auto backward = autograd::backward_seconds();
  EXPECT_EQ(backward.count("straight_through"), 1u);
  EXPECT_EQ(backward.count("linear"), 1u);
}

// Oracle 4: Linear 4x16, bs 8, p 0.5: each (row, block) is all zeros or exactly 2 W.
TEST(QuantNoise, LinearBlocksAreConsecutiveInputFeaturesOfOneRow) {
  Generator gen(4);
  Linear layer(LinearOptions(16, 4).quant_noise(proxy(0.5, 8, &gen)));
  int64_t dropped = 0;
  for (int draw = 0; draw < 20; ++draw) dropped += check_units(layer.effective_weight(), layer.weight, 4, 8, 2.0);
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 20 * 8);
  EXPECT_EQ(gen.offset(), 20u * 2);  // 8 draws (4 x 2 blocks) per forward: 2 Philox blocks of 4 words
}

// Oracle 5: Embedding(10, 16), bs 8: each half of each row is all or nothing.
TEST(QuantNoise, EmbeddingBlocksAreHalvesOfRows) {
  Generator gen(5);
  Embedding table(EmbeddingOptions(10, 16).quant_noise(proxy(0.5, 8, &gen)));
  const int64_t dropped = check_units(table.effective_weight(), table.weight, 10, 8, 2.0);
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 20);
}

// Oracle 6: Conv2d 8->4 3x3: bs 9 and the fairseq whole-kernel mode drop whole kernels; PQ-consistent
// bs 3 drops rows of kernels independently.
TEST(QuantNoise, ConvKxkUnitsAreKernelsOrPqBlocks) {
  Generator gen(6);
  Conv2d nine(Conv2dOptions(8, 4, 3).quant_noise(proxy(0.5, 9, &gen)));
  check_units(nine.effective_weight(), nine.weight, 4, 9, 2.0);

  QuantNoise compat = proxy(0.5, 3, &gen);
  compat.whole_kernels = true;
  Conv2d whole(Conv2dOptions(8, 4, 3).quant_noise(compat));
  EXPECT_EQ(whole.noise()->unit_size(), 9);
  check_units(whole.effective_weight(), whole.weight, 4, 9, 2.0);

  Conv2d thirds(Conv2dOptions(8, 4, 3).quant_noise(proxy(0.5, 3, &gen)));
  const Tensor noised = thirds.effective_weight();
  check_units(noised, thirds.weight, 4, 3, 2.0);
  int64_t mixed_kernels = 0;  // kernels with some rows dropped and some kept
  const Tensor rows = noised.reshape({32, 3, 3});
  for (int64_t k = 0; k < 32; ++k) {
    int zero_rows = 0;
    for (int64_t r = 0; r < 3; ++r) zero_rows += at(rows, {k, r, 0}) == 0.0;
    mixed_kernels += zero_rows == 1 || zero_rows == 2;
  }
  EXPECT_GT(mixed_kernels, 0);
}

// Oracle 7: Conv2d 16->4 1x1, bs 4: blocks of 4 input channels; the weight keeps its 4-d shape and the
// layer runs (fairseq's 2-d mask broke it).
TEST(QuantNoise, Conv1x1BlocksAreInputChannels) {
  Generator gen(7);
  Conv2d conv(Conv2dOptions(16, 4, 1).quant_noise(proxy(0.5, 4, &gen)));
  const Tensor noised = conv.effective_weight();
  EXPECT_EQ(noised.shape(), Shape({4, 16, 1, 1}));
  check_units(noised, conv.weight, 4, 4, 2.0);
  EXPECT_EQ(conv(randn({2, 16, 3, 3})).shape(), Shape({2, 4, 3, 3}));
}

// Oracle 8: block sizes that do not fit are refused with the reason.
TEST(QuantNoise, BlockSizesThatDoNotFitAreRejected) {
  EXPECT_QN_ERROR(Linear(LinearOptions(12, 4).quant_noise(proxy(0.1, 8, nullptr))), "Linear",
                  "block size 8 must divide in_features 12");
  EXPECT_QN_ERROR(Conv2d(Conv2dOptions(8, 4, 3).quant_noise(proxy(0.1, 4, nullptr))), "Conv2d",
                  "block size 4 neither divides nor is a multiple of the kernel area 3x3 = 9");
  EXPECT_QN_ERROR(Embedding(EmbeddingOptions(10, 12).quant_noise(proxy(0.1, 8, nullptr))), "Embedding",
                  "block size 8 must divide embedding_dim 12");
  EXPECT_QN_ERROR(Linear(LinearOptions(16, 4).quant_noise(proxy(1.5, 8, nullptr))), "rate must lie in [0, 1]");
  Conv2d large_blocks(Conv2dOptions(8, 4, 3).quant_noise(proxy(0.1, 18, nullptr)));  // two whole kernels: fine
  EXPECT_EQ(large_blocks.noise()->unit_size(), 18);
}

// Oracle 9: E[W_noise] = W: the mean of 10,000 draws on ones(8, 64), p 0.1, bs 8, lies within 5 sigma.
TEST(QuantNoise, ProxyNoiseIsUnbiased) {
  Generator gen(9);
  Linear layer(LinearOptions(64, 8).bias(false).quant_noise(proxy(0.1, 8, &gen)));
  {
    NoGradGuard no_grad;
    layer.weight.fill_(1.0);
  }
  auto* noise = layer.noise();
  Tensor total = zeros({8, 64});
  for (int i = 0; i < 10000; ++i) {
    total = kernels::binary(
        kernels::BinaryOp::add, total,
        noise->apply_proxy_mask(layer.weight, noise->proxy_mask(noise->draw_proxy_uniforms(Device::cpu()))));
  }
  for (const auto& index : testing::all_indices(total.shape())) {
    const double mean = at(total, index) / 10000;
    ASSERT_GE(mean, 0.9833);
    ASSERT_LE(mean, 1.0167);
  }
}

// Oracle 10: a 1024x1024 Linear at p 0.05, bs 8 drops 0.05 +- 0.003 of its 131,072 blocks.
TEST(QuantNoise, DropRateIsP) {
  Generator gen(10);
  Linear layer(LinearOptions(1024, 1024).quant_noise(proxy(0.05, 8, &gen)));
  const Tensor mask = layer.noise()->proxy_mask(layer.noise()->draw_proxy_uniforms(Device::cpu()));
  ASSERT_EQ(mask.shape(), Shape({1024, 128}));
  const double rate = kernels::sum(mask.to(DType::f64)).item<double>() / static_cast<double>(mask.numel());
  EXPECT_NEAR(rate, 0.05, 0.003);
}

// Oracle 11: the gradient reaches every entry unchanged, dropped blocks included.
TEST(QuantNoise, GradientIsStraightThrough) {
  Generator gen(11);
  Linear layer(LinearOptions(16, 4).bias(false).quant_noise(proxy(0.5, 8, &gen)));
  const Tensor y = layer(ones({1, 16}));
  sum(y).backward();
  Generator replay(11);  // the same draw: some blocks were dropped in that forward
  const Tensor mask = kernels::compare(kernels::CompareOp::lt, rand({4, 2}, DType::f32, &replay), 0.5);
  EXPECT_GT(kernels::sum(mask.to(DType::f64)).item<double>(), 0.0);
  for (const auto& index : testing::all_indices(layer.weight.shape())) ASSERT_EQ(at(layer.weight.grad(), index), 1.0);
}

// Draws come from the layer's own generator when it has one, else from the innermost scope's, else from the
// default generator; a scope's end restores the one before it.
TEST(QuantNoise, ScopedGeneratorStandsInForTheDefault) {
  const auto expect_drawn_from = [](Linear& layer, uint64_t seed) {
    const Tensor drawn = layer.noise()->draw_proxy_uniforms(Device::cpu());
    Generator replay(seed);
    const Tensor expected = rand({4, 2}, DType::f32, &replay);
    for (const auto& index : testing::all_indices(drawn.shape())) ASSERT_EQ(at(drawn, index), at(expected, index));
  };
  Generator own(21), outer(22), inner(23);
  Linear owned(LinearOptions(16, 4).quant_noise(proxy(0.5, 8, &own)));
  Linear unowned(LinearOptions(16, 4).quant_noise(proxy(0.5, 8, nullptr)));
  manual_seed(24);
  {
    const quant::WeightNoiseGeneratorScope outer_scope(&outer);
    {
      const quant::WeightNoiseGeneratorScope inner_scope(&inner);
      expect_drawn_from(unowned, 23);
      expect_drawn_from(owned, 21);
    }
    expect_drawn_from(unowned, 22);
  }
  expect_drawn_from(unowned, 24);
}

}  // namespace
}  // namespace qn::nn
