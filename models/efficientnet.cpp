#include "models/efficientnet.h"

#include <cmath>

#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/init.h"

namespace qn::models {
namespace {

struct StageSpec {
  int64_t repeats, kernel, stride, expansion, in, out;
};

// The B0 table (docs/MODELS.md, EfficientNet); scale_width / scale_depth give the others.
constexpr StageSpec kBaseStages[] = {{1, 3, 1, 1, 32, 16},  {2, 3, 2, 6, 16, 24},  {2, 5, 2, 6, 24, 40},
                                     {3, 3, 2, 6, 40, 80},  {3, 5, 1, 6, 80, 112}, {4, 5, 2, 6, 112, 192},
                                     {1, 3, 1, 6, 192, 320}};
constexpr int64_t kStem = 32, kHead = 1280;

struct Coefficients {
  const char* name;
  double width, depth;
  int64_t resolution;
  double dropout;
};
constexpr Coefficients kNamed[] = {{"efficientnet_b0", 1.0, 1.0, 224, 0.2}, {"efficientnet_b1", 1.0, 1.1, 240, 0.2},
                                   {"efficientnet_b2", 1.1, 1.2, 260, 0.3}, {"efficientnet_b3", 1.2, 1.4, 300, 0.3},
                                   {"efficientnet_b4", 1.4, 1.8, 380, 0.4}, {"efficientnet_b5", 1.6, 2.2, 456, 0.4},
                                   {"efficientnet_b6", 1.8, 2.6, 528, 0.5}, {"efficientnet_b7", 2.0, 3.1, 600, 0.5}};

// Quant-Noise blocks that line up with the iPQ recipe's (tools/recipes/efficientnet_ipq.yaml) on 1x1
// convolutions: the largest block size up to the configured one that divides the input channels (the
// squeeze-and-excitation layers have 4, 6, 10, ... of them). The kxk convolutions (the stem and the depthwise
// ones, under 3% of the weights) carry no proxy noise: their PQ block is a whole kernel, and dropping one zeroes a
// channel, which stalls training (Fashion-MNIST: 65% against 82% after 200 updates at p = 0.1).
nn::quant::QuantNoise fitted_noise(nn::quant::QuantNoise noise, int64_t in_per_group, int64_t kernel) {
  if (noise.scalar() || noise.p == 0) return noise;
  if (kernel > 1) return nn::quant::QuantNoise{};
  while (in_per_group % noise.block_size != 0) --noise.block_size;
  return noise;
}

std::shared_ptr<nn::Conv2d> conv(const EfficientNetConfig& c, int64_t in, int64_t out, int64_t kernel,
                                 int64_t stride = 1, int64_t groups = 1, bool bias = false) {
  nn::Conv2dOptions o(in, out, kernel);
  o.stride(stride).groups(groups).bias(bias).quant_noise(fitted_noise(c.quant_noise, in / groups, kernel));
  if (c.torchvision) {
    o.padding((kernel - 1) / 2);
  } else {
    o.padding_same();
  }
  auto layer = std::make_shared<nn::Conv2d>(o);
  nn::init::kaiming_normal_fan_out_(layer->weight);
  if (bias) {
    NoGradGuard no_grad;
    layer->bias.zero_();
  }
  return layer;
}

std::shared_ptr<nn::BatchNorm2d> batch_norm(const EfficientNetConfig& c, int64_t channels) {
  nn::BatchNorm2dOptions o(channels);
  if (c.torchvision) {
    o.eps(1e-5).momentum(0.1);
  } else {
    o.eps(1e-3).momentum(0.01);  // TF's decay 0.99
  }
  return std::make_shared<nn::BatchNorm2d>(o);
}

// conv, BN and (optionally) swish, as torchvision's Conv2dNormActivation: children 0, 1 (and 2). BN and swish
// run as one op (nn::BatchNorm2d's forward with an activation): the normalized values are never stored. The SiLU
// child is kept, though forward does not call it, so that the model prints and nests as torchvision's (it holds
// no tensors: the state dict is the same either way).
class ConvNormActivation : public nn::Sequential {
 public:
  ConvNormActivation(const EfficientNetConfig& c, int64_t in, int64_t out, int64_t kernel, int64_t stride,
                     int64_t groups, bool activation)
      : conv_(push_back(conv(c, in, out, kernel, stride, groups))),
        norm_(push_back(batch_norm(c, out))),
        activation_(activation ? kernels::NormActivation::silu : kernels::NormActivation::none) {
    if (activation) push_back(std::make_shared<nn::SiLU>());
  }
  Tensor forward(const Tensor& x) override { return norm_->forward((*conv_)(x), activation_); }

 private:
  std::shared_ptr<nn::Conv2d> conv_;
  std::shared_ptr<nn::BatchNorm2d> norm_;
  kernels::NormActivation activation_;
};

std::shared_ptr<ConvNormActivation> conv_bn(const EfficientNetConfig& c, int64_t in, int64_t out, int64_t kernel,
                                            int64_t stride, int64_t groups, bool activation) {
  return std::make_shared<ConvNormActivation>(c, in, out, kernel, stride, groups, activation);
}

// x * sigmoid(fc2(swish(fc1(mean over H, W of x)))): x (N, C, H, W), squeezed to `squeezed` channels.
class SqueezeExcitation : public nn::Module {
 public:
  SqueezeExcitation(const EfficientNetConfig& c, int64_t channels, int64_t squeezed) : Module("SqueezeExcitation") {
    fc1_ = register_module("fc1", conv(c, channels, squeezed, 1, 1, 1, true));
    fc2_ = register_module("fc2", conv(c, squeezed, channels, 1, 1, 1, true));
  }
  Tensor forward(const Tensor& x) override {
    const Tensor pooled = mean(x, {2, 3}, true);  // (N, C, 1, 1)
    return mul(x, sigmoid((*fc2_)(silu((*fc1_)(pooled)))));
  }

 private:
  std::shared_ptr<nn::Conv2d> fc1_, fc2_;
};

}  // namespace

int64_t scale_width(int64_t channels, double width) {
  const double scaled = static_cast<double>(channels) * width;
  int64_t rounded = std::max<int64_t>(8, static_cast<int64_t>(scaled + 4) / 8 * 8);
  if (static_cast<double>(rounded) < 0.9 * scaled) rounded += 8;
  return rounded;
}

int64_t scale_depth(int64_t repeats, double depth) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(repeats) * depth));
}

EfficientNetConfig EfficientNetConfig::named(const std::string& name) {
  for (const Coefficients& c : kNamed) {
    if (name == c.name) {
      EfficientNetConfig config;
      config.width = c.width;
      config.depth = c.depth;
      config.resolution = c.resolution;
      config.dropout = c.dropout;
      return config;
    }
  }
  if (name == "efficientnet_tiny") {
    EfficientNetConfig config;
    config.width = 0.25;
    config.depth = 0.25;
    config.resolution = 32;
    config.dropout = 0.1;
    config.drop_connect = 0.1;
    config.stem_stride = 1;
    config.torchvision = true;  // BatchNorm momentum 0.1: running statistics that keep up with short runs
    return config;
  }
  throw_error("EfficientNet",
              detail::concat("unknown model '", name, "' (efficientnet_b0 .. efficientnet_b7, efficientnet_tiny)"));
}

MBConv::MBConv(const EfficientNetConfig& c, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t expansion,
               double drop_connect)
    : Module("MBConv"), residual_(stride == 1 && in == out) {
  block_ = register_module("block", std::make_shared<nn::Sequential>());
  stochastic_depth_ = register_module("stochastic_depth", std::make_shared<nn::DropPath>(drop_connect));
  const int64_t expanded = in * expansion;
  if (expansion != 1) block_->push_back(conv_bn(c, in, expanded, 1, 1, 1, true));
  block_->push_back(conv_bn(c, expanded, expanded, kernel, stride, expanded, true));
  block_->push_back(std::make_shared<SqueezeExcitation>(c, expanded, std::max<int64_t>(1, in / 4)));
  block_->push_back(conv_bn(c, expanded, out, 1, 1, 1, false));
}

Tensor MBConv::forward(const Tensor& x) {
  const Tensor y = (*block_)(x);
  return residual_ ? add((*stochastic_depth_)(y), x) : y;
}

EfficientNet::EfficientNet(const EfficientNetConfig& c) : Module("EfficientNet"), config(c) {
  QN_CHECK(c.width > 0 && c.depth > 0 && c.num_classes > 0 && c.in_channels > 0 && c.stem_stride > 0, "EfficientNet",
           "width, depth, classes, input channels and stem stride must be positive, got ", c.width, ", ", c.depth, ", ",
           c.num_classes, ", ", c.in_channels, ", ", c.stem_stride);
  features_ = register_module("features", std::make_shared<nn::Sequential>());
  features_->push_back(conv_bn(c, c.in_channels, scale_width(kStem, c.width), 3, c.stem_stride, 1, true));
  int64_t total = 0;
  for (const StageSpec& s : kBaseStages) total += scale_depth(s.repeats, c.depth);
  int64_t index = 0;
  for (const StageSpec& s : kBaseStages) {
    auto stage = std::make_shared<nn::Sequential>();
    const int64_t out = scale_width(s.out, c.width);
    int64_t in = scale_width(s.in, c.width);
    for (int64_t r = 0; r < scale_depth(s.repeats, c.depth); ++r, ++index) {
      const double rate = c.drop_connect * static_cast<double>(index) / static_cast<double>(total);
      stage->push_back(std::make_shared<MBConv>(c, in, out, s.kernel, r == 0 ? s.stride : 1, s.expansion, rate));
      in = out;
    }
    features_->push_back(stage);
  }
  const int64_t last = scale_width(kBaseStages[6].out, c.width);
  features_->push_back(conv_bn(c, last, scale_width(kHead, c.width), 1, 1, 1, true));

  classifier_ = register_module("classifier", std::make_shared<nn::Sequential>());
  classifier_->push_back(std::make_shared<nn::Dropout>(c.dropout));
  auto fc = classifier_->push_back(std::make_shared<nn::Linear>(
      nn::LinearOptions(scale_width(kHead, c.width), c.num_classes).quant_noise(c.quant_noise)));
  const double range = 1.0 / std::sqrt(static_cast<double>(c.num_classes));
  nn::init::uniform_(fc->weight, -range, range);
  NoGradGuard no_grad;
  fc->bias.zero_();
}

Tensor EfficientNet::forward(const Tensor& images) {
  QN_CHECK(images.dim() == 4 && images.size(1) == config.in_channels, "EfficientNet", "expected images (N, ",
           config.in_channels, ", H, W), got ", images.describe());
  const Tensor features = (*features_)(images);
  return (*classifier_)(mean(features, {2, 3}));  // global average pool, then dropout and the classifier
}

}  // namespace qn::models
