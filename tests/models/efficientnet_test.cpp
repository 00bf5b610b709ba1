// EfficientNet: the scaled configurations and parameter counts of docs/MODELS.md, EfficientNet, the B3 size
// report (docs/METHOD.md, published sizes: 46.67 / 11.67 / 5.83 MiB), TF 'same' padding's feature-map sizes, and bad
// input.
#include "models/efficientnet.h"

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "nn/quant/size_report.h"
#include "tests/models/parameters.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

TEST(EfficientNet, ScalingRules) {
  EXPECT_EQ(scale_width(32, 1.2), 40);
  EXPECT_EQ(scale_width(40, 1.1), 48);
  EXPECT_EQ(scale_width(80, 1.1), 88);
  EXPECT_EQ(scale_width(1280, 1.2), 1536);
  EXPECT_EQ(scale_width(16, 1.0), 16);
  EXPECT_EQ(scale_depth(3, 1.4), 5);
  EXPECT_EQ(scale_depth(1, 1.1), 2);
}

TEST(EfficientNet, ParameterCountsOfB0ToB3) {
  const std::pair<const char*, int64_t> expected[] = {{"efficientnet_b0", 5288548},
                                                      {"efficientnet_b1", 7794184},
                                                      {"efficientnet_b2", 9109994},
                                                      {"efficientnet_b3", 12233232}};
  for (const auto& [name, params] : expected) {
    EfficientNet net(EfficientNetConfig::named(name));
    EXPECT_EQ(testing::parameter_count(net), params) << name;
  }
  EXPECT_QN_ERROR(EfficientNetConfig::named("efficientnet_b9"), "efficientnet_b9");
}

TEST(EfficientNet, B3SizeReport) {
  EfficientNet b3(EfficientNetConfig::named("efficientnet_b3"));
  nn::quant::SizeOptions o;
  EXPECT_NEAR(nn::quant::size_report(b3, o).total_bytes() / nn::quant::kMiB, 46.67, 5e-3);
  o.other_bits = 8;
  EXPECT_NEAR(nn::quant::size_report(b3, o).total_bytes() / nn::quant::kMiB, 11.67, 5e-3);
  o.other_bits = 4;
  EXPECT_NEAR(nn::quant::size_report(b3, o).total_bytes() / nn::quant::kMiB, 5.83, 5e-3);
}

// 'same' padding: ceil(size / stride) after each strided stage, whatever the input size.
TEST(EfficientNet, SamePaddingKeepsCeilSizes) {
  EfficientNetConfig c = EfficientNetConfig::named("efficientnet_b0");
  c.num_classes = 5;
  EfficientNet net(c);
  net.eval();
  const Tensor logits = net(testing::random({2, 3, 37, 45}, DType::f32, 3));
  EXPECT_EQ(logits.shape(), Shape({2, 5}));
  EXPECT_QN_ERROR(net(testing::random({2, 1, 32, 32})), "expected images (N, 3, H, W)");
}

// Grayscale input, a stride-1 stem (28x28 images keep 28x28 in stage 1), and Quant-Noise only where its blocks
// fit: 1x1 convolutions in blocks dividing their input channels (SE's fc2 has 4 here), none on kxk ones.
TEST(EfficientNet, TinyGrayscaleWithFittedQuantNoise) {
  EfficientNetConfig c = EfficientNetConfig::named("efficientnet_tiny");
  c.in_channels = 1;
  c.num_classes = 10;
  c.quant_noise.p = 0.1;
  c.quant_noise.block_size = 8;
  EfficientNet net(c);
  EXPECT_EQ(net(testing::random({2, 1, 28, 28}, DType::f32, 4)).shape(), Shape({2, 10}));
  int64_t noisy = 0, quiet = 0;
  for (const auto& [name, layer] : nn::quantizable_layers(net)) {
    const Shape& w = layer->weight_shape();
    const bool kxk = w.size() == 4 && w[2] > 1;
    if (kxk) {
      EXPECT_EQ(layer->noise(), nullptr) << name;
      ++quiet;
    } else {
      ASSERT_NE(layer->noise(), nullptr) << name;
      EXPECT_EQ(w[1] % layer->noise()->options().block_size, 0) << name;
      EXPECT_LE(layer->noise()->options().block_size, 8) << name;
      ++noisy;
    }
  }
  EXPECT_GT(noisy, 0);
  EXPECT_GT(quiet, 0);
  EXPECT_QN_ERROR(net(testing::random({2, 3, 28, 28})), "expected images (N, 1, H, W)");
}

}  // namespace
}  // namespace qn::models
