#include "nn/conv.h"

#include <cmath>

#include "nn/init.h"

namespace qn::nn {

// PyTorch's defaults: weight kaiming_uniform(a = sqrt(5)); bias U(+-1/sqrt(fan_in)).
Conv2d::Conv2d(const Conv2dOptions& o)
    : QuantizableLayer("Conv2d", quant::LayerKind::kConv2d, o.quant_noise_), options(o) {
  QN_CHECK(o.groups_ >= 1 && o.in_channels_ % o.groups_ == 0 && o.out_channels_ % o.groups_ == 0, "Conv2d", "groups ",
           o.groups_, " must divide in_channels ", o.in_channels_, " and out_channels ", o.out_channels_);
  init_weight({o.out_channels_, o.in_channels_ / o.groups_, o.kernel_size_[0], o.kernel_size_[1]});
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (o.bias_) {
    bias = register_parameter("bias", empty({o.out_channels_}));
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fans(weight).in));
    init::uniform_(bias, -bound, bound);
  }
}

Conv2dParams Conv2d::params_for(int64_t h, int64_t w) const {
  Conv2dParams p;
  p.stride = options.stride_;
  p.dilation = options.dilation_;
  p.groups = options.groups_;
  if (options.same_) {
    const auto ph = kernels::same_padding(h, options.kernel_size_[0], options.stride_[0], options.dilation_[0]);
    const auto pw = kernels::same_padding(w, options.kernel_size_[1], options.stride_[1], options.dilation_[1]);
    p.padding = {ph[0], ph[1], pw[0], pw[1]};
  } else {
    p.padding = {options.padding_[0], options.padding_[0], options.padding_[1], options.padding_[1]};
  }
  return p;
}

Tensor Conv2d::forward(const Tensor& x) {
  QN_CHECK(x.dim() == 4 && x.size(1) == options.in_channels_, "Conv2d", "expected input (N, ", options.in_channels_,
           ", H, W), got ", x.describe());
  return finish(conv2d(x, effective_weight(), bias, params_for(x.size(2), x.size(3))));
}

}  // namespace qn::nn
