// Convolution entry points: shape checks, output size, choice of algorithm.
#include "kernels/conv.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"
#include "kernels/half_precision.h"

namespace qn::kernels {
namespace {

Shape conv_output_shape(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  QN_CHECK(input.dim() == 4 && weight.dim() == 4, "conv2d",
           "expected input (N, C, H, W) and weight (O, C/groups, KH, KW), got ", input.describe(), " and ",
           weight.describe());
  require_same_dtype("conv2d", input, weight);
  QN_CHECK(is_floating(input.dtype()), "conv2d", "expected a floating input, got ", input.describe());
  QN_CHECK(p.groups >= 1 && input.size(1) % p.groups == 0 && weight.size(0) % p.groups == 0, "conv2d", "groups ",
           p.groups, " must divide input channels ", input.size(1), " and output channels ", weight.size(0));
  QN_CHECK(weight.size(1) * p.groups == input.size(1), "conv2d", "weight ", weight.describe(), " expects ",
           weight.size(1) * p.groups, " input channels with groups=", p.groups, ", input ", input.describe(), " has ",
           input.size(1));
  QN_CHECK(p.stride[0] >= 1 && p.stride[1] >= 1 && p.dilation[0] >= 1 && p.dilation[1] >= 1, "conv2d",
           "stride and dilation must be positive");
  for (int64_t pad : p.padding) QN_CHECK(pad >= 0, "conv2d", "padding must be non-negative, got ", pad);
  if (bias.defined()) {
    require_same_dtype("conv2d", input, bias);
    QN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv2d", "bias must be (", weight.size(0), "), got ",
             bias.describe());
  }
  const int64_t span_h = p.dilation[0] * (weight.size(2) - 1) + 1;
  const int64_t span_w = p.dilation[1] * (weight.size(3) - 1) + 1;
  const int64_t padded_h = input.size(2) + p.padding[0] + p.padding[1];
  const int64_t padded_w = input.size(3) + p.padding[2] + p.padding[3];
  QN_CHECK(padded_h >= span_h && padded_w >= span_w, "conv2d", "kernel ", weight.size(2), "x", weight.size(3),
           " (dilated ", span_h, "x", span_w, ") is larger than the padded input ", padded_h, "x", padded_w);
  return {input.size(0), weight.size(0), (padded_h - span_h) / p.stride[0] + 1, (padded_w - span_w) / p.stride[1] + 1};
}

bool is_depthwise(const Tensor& input, const Conv2dParams& p) { return p.groups == input.size(1); }

// The direct depthwise kernels serve a 4-D convolution with one input channel per group, forward and backward
// alike (with one channel in all it is an ordinary convolution: im2col).
bool uses_depthwise_kernels(const Shape& input, const Conv2dParams& p) {
  return input.size() == 4 && p.groups == input[1] && input[1] > 1;
}

}  // namespace

std::array<int64_t, 2> same_padding(int64_t size, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t out = (size + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0);
  return {total / 2, total - total / 2};
}

Tensor conv2d_im2col(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  require_cpu_kernels("conv2d_im2col", {&input, &weight, &bias});
  Tensor out = empty(conv_output_shape(input, weight, bias, params), input.options());
  cpu::conv2d_im2col(input.contiguous(), weight.contiguous(), bias.defined() ? bias.contiguous() : bias, params, out);
  return out;
}

Tensor conv2d_depthwise(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  require_cpu_kernels("conv2d_depthwise", {&input, &weight, &bias});
  const Shape shape = conv_output_shape(input, weight, bias, params);
  QN_CHECK(is_depthwise(input, params), "conv2d_depthwise", "expected groups == input channels (", input.size(1),
           "), got groups=", params.groups);
  Tensor out = empty(shape, input.options());
  cpu::conv2d_depthwise(input.contiguous(), weight.contiguous(), bias.defined() ? bias.contiguous() : bias, params,
                        out);
  return out;
}

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& input_shape,
                             const Conv2dParams& params) {
  const Device device = common_device("conv2d_backward_input", {&grad_out, &weight});
  const Tensor probe = empty(input_shape, weight.options());  // shapes only: validates like the forward
  QN_CHECK(conv_output_shape(probe, weight, Tensor(), params) == grad_out.shape(), "conv2d_backward_input", "gradient ",
           grad_out.describe(), " does not match the convolution of ", input_shape, " by ", weight.describe());
  if (is_half(weight.dtype())) {
    return conv2d_backward_input(widened(grad_out), widened(weight), input_shape, params).to(weight.dtype());
  }
  // The CPU kernels write every element of dx: GEMMs at beta 0 (pointwise), the depthwise kernel's rows, and the
  // im2col one clears each image before adding its columns into it.
  Tensor dx = device.is_cuda() ? zeros(input_shape, weight.options()) : empty(input_shape, weight.options());
  if (device.is_cuda()) {
    cuda::conv2d_backward_input(grad_out.contiguous(), weight.contiguous(), params, dx);
  } else if (uses_depthwise_kernels(input_shape, params)) {
    cpu::conv2d_depthwise_backward_input(grad_out.contiguous(), weight.contiguous(), params, dx);
  } else {
    cpu::conv2d_im2col_backward_input(grad_out.contiguous(), weight.contiguous(), params, dx);
  }
  return dx;
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& input, const Shape& weight_shape,
                              const Conv2dParams& params) {
  const Device device = common_device("conv2d_backward_weight", {&grad_out, &input});
  const Tensor probe = empty(weight_shape, input.options());
  QN_CHECK(conv_output_shape(input, probe, Tensor(), params) == grad_out.shape(), "conv2d_backward_weight", "gradient ",
           grad_out.describe(), " does not match the convolution of ", input.describe(), " by ", weight_shape);
  if (is_half(input.dtype())) {
    return conv2d_backward_weight(widened(grad_out), widened(input), weight_shape, params).to(input.dtype());
  }
  Tensor dw = empty(weight_shape, input.options());
  if (device.is_cuda()) {
    cuda::conv2d_backward_weight(grad_out.contiguous(), input.contiguous(), params, dw);
  } else if (uses_depthwise_kernels(input.shape(), params)) {
    cpu::conv2d_depthwise_backward_weight(grad_out.contiguous(), input.contiguous(), params, dw);
  } else {
    cpu::conv2d_im2col_backward_weight(grad_out.contiguous(), input.contiguous(), params, dw);
  }
  return dw;
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  if (is_half(input.dtype())) {
    conv_output_shape(input, weight, bias, params);  // its checks, in the caller's dtypes
    return conv2d(widened(input), widened(weight), widened(bias), params).to(input.dtype());
  }
  if (common_device("conv2d", {&input, &weight, &bias}).is_cuda()) {  // cuDNN, depthwise or not
    Tensor out = empty(conv_output_shape(input, weight, bias, params), input.options());
    cuda::conv2d(input.contiguous(), weight.contiguous(), bias.defined() ? bias.contiguous() : bias, params, out);
    return out;
  }
  if (uses_depthwise_kernels(input.shape(), params)) {
    return conv2d_depthwise(input, weight, bias, params);
  }
  return conv2d_im2col(input, weight, bias, params);
}

}  // namespace qn::kernels
