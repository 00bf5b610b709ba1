// 2-D convolution (cross-correlation, as in PyTorch) on NCHW tensors.
//   input (N, C, H, W), weight (O, C / groups, KH, KW), bias (O) or undefined -> (N, O, HO, WO)
//   HO = (H + pad_top + pad_bottom - dilation_h (KH - 1) - 1) / stride_h + 1, likewise WO.
// Padding is given per side, so TensorFlow's 'same' padding (extra row/column at the bottom/right)
// needs no separate pad step.
#pragma once

#include <array>

#include "core/tensor.h"

namespace qn {

// Parameters live in namespace qn (not qn::kernels) so that argument-dependent lookup on them does not
// make qn::conv2d and qn::kernels::conv2d ambiguous.
struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 4> padding{0, 0, 0, 0};  // top, bottom, left, right
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;

  Conv2dParams& with_stride(int64_t s) {
    stride = {s, s};
    return *this;
  }
  Conv2dParams& with_padding(int64_t p) {
    padding = {p, p, p, p};
    return *this;
  }
  Conv2dParams& with_padding(int64_t top, int64_t bottom, int64_t left, int64_t right) {
    padding = {top, bottom, left, right};
    return *this;
  }
  Conv2dParams& with_dilation(int64_t d) {
    dilation = {d, d};
    return *this;
  }
  Conv2dParams& with_groups(int64_t g) {
    groups = g;
    return *this;
  }
};

}  // namespace qn

namespace qn::kernels {

// TensorFlow 'same' padding for one spatial dim: output ceil(size / stride), the odd pixel at the end.
std::array<int64_t, 2> same_padding(int64_t size, int64_t kernel, int64_t stride, int64_t dilation = 1);

// Picks the direct depthwise kernel when every group has one input channel, else im2col + GEMM.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params = {});
// The two algorithms, callable directly (tests compare both against a reference).
Tensor conv2d_im2col(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params = {});
Tensor conv2d_depthwise(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params = {});

// Gradients of conv2d given the output gradient grad_out (N, O, HO, WO):
//   input:  dx (N, C, H, W)            = col2im(weight_g^T @ grad_out_g), per image and group
//   weight: dw (O, C / groups, KH, KW) = sum over images of grad_out_g @ im2col(x)^T
// (The bias gradient is grad_out summed over N, HO, WO.) Depthwise convolutions use direct loops.
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& input_shape,
                             const Conv2dParams& params);
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& input, const Shape& weight_shape,
                              const Conv2dParams& params);

}  // namespace qn::kernels
