// Pooling and flattening layers: parameter-free modules around the functions of autograd/ops.h, named as
// PyTorch names them (they hold no state, so they add no state-dict keys).
#pragma once

#include "nn/module.h"

namespace qn::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dParams& params) : Module("MaxPool2d"), params_(params) {}
  // kernel x kernel windows, stride defaulting to the kernel (PyTorch's default).
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : MaxPool2d(Pool2dParams::square(kernel, stride > 0 ? stride : kernel, padding)) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, params_); }

 private:
  Pool2dParams params_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const Pool2dParams& params) : Module("AvgPool2d"), params_(params) {}
  explicit AvgPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : AvgPool2d(Pool2dParams::square(kernel, stride > 0 ? stride : kernel, padding)) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, params_); }

 private:
  Pool2dParams params_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w) : Module("AdaptiveAvgPool2d"), out_h_(out_h), out_w_(out_w) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, out_h_, out_w_); }

 private:
  int64_t out_h_, out_w_;
};

// Flattens dims start_dim..end_dim into one (PyTorch's nn.Flatten defaults: 1 and -1).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim_, end_dim_); }

 private:
  int64_t start_dim_, end_dim_;
};

}  // namespace qn::nn
