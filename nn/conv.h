// Conv2d on NCHW input:  x (N, in, H, W) -> (N, out, HO, WO);  weight (out, in / groups, kh, kw), bias (out).
// Padding is explicit (symmetric, per dim) or TensorFlow's 'same' (computed from each input's size: output
// ceil(size / stride), the odd pixel at the bottom/right), as EfficientNet uses.
#pragma once

#include <array>

#include "nn/quantizable.h"

namespace qn::nn {

struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_{kernel_size, kernel_size} {}
  Conv2dOptions& kernel_size(int64_t h, int64_t w) {
    kernel_size_ = {h, w};
    return *this;
  }
  Conv2dOptions& stride(int64_t s) {
    stride_ = {s, s};
    return *this;
  }
  Conv2dOptions& padding(int64_t p) {
    padding_ = {p, p};
    same_ = false;
    return *this;
  }
  Conv2dOptions& padding(int64_t h, int64_t w) {
    padding_ = {h, w};
    same_ = false;
    return *this;
  }
  Conv2dOptions& padding_same() {
    same_ = true;
    return *this;
  }
  Conv2dOptions& dilation(int64_t d) {
    dilation_ = {d, d};
    return *this;
  }
  Conv2dOptions& groups(int64_t g) {
    groups_ = g;
    return *this;
  }
  Conv2dOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  Conv2dOptions& quant_noise(const quant::QuantNoise& noise) {
    quant_noise_ = noise;
    return *this;
  }

  int64_t in_channels_;
  int64_t out_channels_;
  std::array<int64_t, 2> kernel_size_;
  std::array<int64_t, 2> stride_{1, 1};
  std::array<int64_t, 2> padding_{0, 0};
  bool same_ = false;
  std::array<int64_t, 2> dilation_{1, 1};
  int64_t groups_ = 1;
  bool bias_ = true;
  quant::QuantNoise quant_noise_;
};

// weight / bias / effective_weight() / quantize(): see QuantizableLayer.
class Conv2d : public QuantizableLayer {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Tensor forward(const Tensor& x) override;
  // The kernel parameters for an input of height h and width w (where 'same' padding depends on them).
  Conv2dParams params_for(int64_t h, int64_t w) const;

  const Conv2dOptions options;
};

}  // namespace qn::nn
