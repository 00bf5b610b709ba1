// Oracle 27 (the kill-the-bits part): the size report with kill-the-bits' rules — every conv and fc but the
// stem, 3x3 convs in blocks of 9, 1x1 convs and fc in blocks of 4, K 256 for convs and 2048 / 1024 for the
// fc, clamped to the largest power of two below blocks / 4, stem and BatchNorm in fp32 — reproduces the
// published ResNet sizes (docs/METHOD.md, published sizes). The ResNets are torchvision's layer names and shapes
// (weights random: only shapes count).
#include <gtest/gtest.h>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/quant/size_report.h"

namespace qn::nn::quant {
namespace {

struct Tree : Module {
  Tree() : Module("Tree") {}
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> module) {
    return register_module(name, std::move(module));
  }
};

void conv_bn(Tree& parent, const std::string& conv, const std::string& bn, int64_t in, int64_t out, int64_t k) {
  parent.add(conv, std::make_shared<Conv2d>(Conv2dOptions(in, out, k).bias(false)));
  parent.add(bn, std::make_shared<BatchNorm2d>(BatchNorm2dOptions(out)));
}

// torchvision resnet18 (BasicBlock, [2, 2, 2, 2]) or resnet50 (Bottleneck, [3, 4, 6, 3]).
std::shared_ptr<Tree> resnet(bool bottleneck) {
  auto net = std::make_shared<Tree>();
  conv_bn(*net, "conv1", "bn1", 3, 64, 7);
  const int64_t blocks[] = {bottleneck ? 3 : 2, bottleneck ? 4 : 2, bottleneck ? 6 : 2, bottleneck ? 3 : 2};
  const int64_t expansion = bottleneck ? 4 : 1;
  int64_t in = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t width = 64 << stage;
    auto layer = net->add("layer" + std::to_string(stage + 1), std::make_shared<Tree>());
    for (int64_t b = 0; b < blocks[stage]; ++b) {
      auto block = layer->add(std::to_string(b), std::make_shared<Tree>());
      if (bottleneck) {
        conv_bn(*block, "conv1", "bn1", in, width, 1);
        conv_bn(*block, "conv2", "bn2", width, width, 3);
        conv_bn(*block, "conv3", "bn3", width, width * 4, 1);
      } else {
        conv_bn(*block, "conv1", "bn1", in, width, 3);
        conv_bn(*block, "conv2", "bn2", width, width, 3);
      }
      if (b == 0 && (stage > 0 || bottleneck)) {
        auto down = block->add("downsample", std::make_shared<Tree>());
        conv_bn(*down, "0", "1", in, width * expansion, 1);
      }
      in = width * expansion;
    }
  }
  net->add("fc", std::make_shared<Linear>(LinearOptions(in, 1000)));
  return net;
}

IpqConfig kill_the_bits(int64_t fc_centroids) {
  return IpqConfig::parse(
      "n_centroids:\n"
      "  Conv2d: {key: in_channels, value: {'*': 256}}\n"
      "  Linear: {key: in_features, value: {'*': " +
      std::to_string(fc_centroids) +
      "}}\n"
      "block_sizes:\n"
      "  Conv2d: {key: kernel_size, value: {'(3, 3)': 9, '(1, 1)': 4}}\n"
      "  Linear: {key: in_features, value: {'*': 4}}\n"
      "clamp_centroids: true\n"
      "layers_to_quantize: ['layer\\d\\.\\d+\\.(conv\\d|downsample\\.0)', 'fc']\n");
}

TEST(SizeReport, ResNet18SmallBlocks) {
  const auto net = resnet(false);
  SizeOptions o;
  o.planned = plan_ipq(*net, kill_the_bits(2048));
  const SizeReport r = size_report(*net, o);
  EXPECT_EQ(r.parameters, 11689512);
  EXPECT_NEAR(r.other_bytes / kMiB, 0.076, 5e-4);
  EXPECT_NEAR(r.total_bytes() / kMiB, 1.541, 5e-4);
  EXPECT_NEAR(r.ratio(), 28.94, 5e-3);
}

TEST(SizeReport, ResNet50SmallBlocks) {
  const auto net = resnet(true);
  SizeOptions o;
  o.planned = plan_ipq(*net, kill_the_bits(1024));
  const SizeReport r = size_report(*net, o);
  EXPECT_EQ(r.parameters, 25557032);
  EXPECT_NEAR(r.other_bytes / kMiB, 0.242, 5e-4);
  EXPECT_NEAR(r.total_bytes() / kMiB, 5.091, 5e-4);
  EXPECT_NEAR(r.ratio(), 19.15, 5e-3);
}

}  // namespace
}  // namespace qn::nn::quant
