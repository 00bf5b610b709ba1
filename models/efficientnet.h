// EfficientNet-B0..B7 (docs/MODELS.md, EfficientNet): compound-scaled MBConv stages with squeeze-and-excitation and
// swish, drop-connect growing linearly over the blocks, and a 1x1 head, global pooling, dropout and a classifier.
//
// Parameter names are torchvision's efficientnet_b0..b7, so its state dicts load unchanged:
//   features.0.{0,1}                      stem conv 3x3/2 and BN
//   features.S.I.block.{0,1,2,3}          MBConv I of stage S (1..7): expand (conv, BN), depthwise (conv, BN),
//                                         SE (fc1, fc2: 1x1 convs with bias), project (conv, BN); without
//                                         expansion (stage 1) the block is depthwise, SE, project
//   features.8.{0,1}                      head conv 1x1 and BN
//   classifier.1                          the Linear
// Two variants differ where the references do: `tf` (the TF reference and the paper's: 'same' padding, BN eps
// 1e-3 and momentum 0.01) and `torchvision` (symmetric padding (k - 1) / 2, BN eps 1e-5 and momentum 0.1).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/norm.h"

namespace qn::models {

struct EfficientNetConfig {
  double width = 1.0;
  double depth = 1.0;
  int64_t resolution = 224;
  double dropout = 0.2;
  int64_t num_classes = 1000;
  int64_t in_channels = 3;    // 1 for grayscale images (Fashion-MNIST)
  int64_t stem_stride = 2;    // 1 keeps small images (28x28, 32x32) from shrinking to 1x1 before the last stages
  double drop_connect = 0.2;  // the last block's rate; block i of n uses drop_connect * i / n
  bool torchvision = false;   // padding and BatchNorm as torchvision (see above); false: the TF reference
  // Quant-Noise on the 1x1 convolutions and the classifier, in blocks of quant_noise.block_size (less where it
  // does not divide a layer's input channels); scalar noise on every convolution. See fitted_noise.
  nn::quant::QuantNoise quant_noise;

  // "efficientnet_b0" .. "efficientnet_b7", with the paper's scaling coefficients, and "efficientnet_tiny"
  // (width 0.25, depth 0.25, 32x32 input, stem stride 1: small images and tests).
  static EfficientNetConfig named(const std::string& name);
};

// One MBConv block (see above). x (N, in, H, W) -> (N, out, H / stride, W / stride).
class MBConv : public nn::Module {
 public:
  MBConv(const EfficientNetConfig& config, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t expansion,
         double drop_connect);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Sequential> block_;
  std::shared_ptr<nn::DropPath> stochastic_depth_;  // drop-connect on the branch, residual blocks only
  bool residual_;
};

class EfficientNet : public nn::Module {
 public:
  explicit EfficientNet(const EfficientNetConfig& config);
  // images (N, in_channels, H, W) -> logits (N, num_classes).
  Tensor forward(const Tensor& images) override;

  const EfficientNetConfig config;

 private:
  std::shared_ptr<nn::Sequential> features_;
  std::shared_ptr<nn::Sequential> classifier_;
};

// The scaling rules: channels rounded to a multiple of 8 (never more than 10% down), repeats rounded up.
int64_t scale_width(int64_t channels, double width);
int64_t scale_depth(int64_t repeats, double depth);

}  // namespace qn::models
