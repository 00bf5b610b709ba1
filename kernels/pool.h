// 2-D pooling on NCHW tensors, with PyTorch's output-size rules.
#pragma once

#include <array>

#include "core/tensor.h"

namespace qn {

// Parameters live in namespace qn (not qn::kernels) so that argument-dependent lookup on them does not
// make qn::conv2d and qn::kernels::conv2d ambiguous.
struct Pool2dParams {
  std::array<int64_t, 2> kernel{2, 2};
  std::array<int64_t, 2> stride{2, 2};
  std::array<int64_t, 2> padding{0, 0};  // symmetric, at most half the kernel
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d: padded zeros count in the divisor

  static Pool2dParams square(int64_t kernel, int64_t stride, int64_t padding = 0) {
    Pool2dParams p;
    p.kernel = {kernel, kernel};
    p.stride = {stride, stride};
    p.padding = {padding, padding};
    return p;
  }
};

}  // namespace qn

namespace qn::kernels {

struct MaxPoolResult {
  Tensor out;      // (N, C, HO, WO)
  Tensor indices;  // i64, flat index h * W + w of each maximum within its (H, W) plane
};
MaxPoolResult max_pool2d(const Tensor& x, const Pool2dParams& params);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params);
// Output cell i covers input rows [floor(i H / HO), ceil((i + 1) H / HO)), likewise columns.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

// Gradients with respect to the input (input_shape), given the output gradient:
//   max:      each output's gradient goes to the input element its index names
//   avg:      each output's gradient is spread evenly over its window (with the forward's divisor)
//   adaptive: likewise over its adaptive window
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape);
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dParams& params);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape);

}  // namespace qn::kernels
