// Weight initialisation, in place and recording nothing. The distributions are PyTorch's
// (torch.nn.init), drawn from the engine's Philox generators.
#pragma once

#include "core/generator.h"
#include "core/tensor.h"

namespace qn::nn::init {

// fan_in and fan_out of a weight: dims 1 and 0 times the receptive field (kh * kw for a conv).
struct Fans {
  int64_t in;
  int64_t out;
};
Fans fans(const Tensor& weight);

void uniform_(Tensor& t, double low, double high, Generator* gen = nullptr);
void normal_(Tensor& t, double mean, double stddev, Generator* gen = nullptr);
void zeros_(Tensor& t);
void ones_(Tensor& t);
// U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
void xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
// U(-b, b), b = sqrt(6 / ((1 + a^2) fan_in)): PyTorch's default for Linear and Conv2d weights is a = sqrt(5),
// which gives b = 1 / sqrt(fan_in).
void kaiming_uniform_(Tensor& t, double a, Generator* gen = nullptr);
// N(0, sqrt(2 / fan_out)): EfficientNet's convolutions.
void kaiming_normal_fan_out_(Tensor& t, Generator* gen = nullptr);

}  // namespace qn::nn::init
