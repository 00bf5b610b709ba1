// Which input cells each pooling output covers, and what it divides by: shared by the CPU and CUDA pooling kernels
// so that both follow PyTorch's rules the same way.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/philox.h"  // QN_HOST_DEVICE
#include "kernels/pool.h"

namespace qn::kernels {

// A batch of (H, W) planes pooled to (HO, WO).
struct Planes {
  int64_t count, h, w, ho, wo;
};

inline Planes planes(const Tensor& x, const Tensor& out) {
  return {x.size(0) * x.size(1), x.size(2), x.size(3), out.size(2), out.size(3)};
}

// The input rows [ys, ye) and columns [xs, xe) an output cell averages, and what it divides by.
struct Window {
  int64_t ys, ye, xs, xe;
  int64_t divisor;
};

// The window of avg_pool2d output (y, xo): PyTorch's rules for padding and count_include_pad.
QN_HOST_DEVICE inline Window avg_window(const Pool2dParams& p, const Planes& g, int64_t y, int64_t xo) {
  const int64_t y0 = y * p.stride[0] - p.padding[0];
  const int64_t x0 = xo * p.stride[1] - p.padding[1];
  const int64_t y1 = std::min(y0 + p.kernel[0], g.h + p.padding[0]);  // window end within the padding
  const int64_t x1 = std::min(x0 + p.kernel[1], g.w + p.padding[1]);
  Window win{std::max<int64_t>(y0, 0), std::min(y1, g.h), std::max<int64_t>(x0, 0), std::min(x1, g.w), 0};
  win.divisor = p.count_include_pad ? (y1 - y0) * (x1 - x0) : (win.ye - win.ys) * (win.xe - win.xs);
  return win;
}

// The window of adaptive_avg_pool2d output (y, xo): rows [floor(y H / HO), ceil((y + 1) H / HO)), likewise columns.
QN_HOST_DEVICE inline Window adaptive_window(const Planes& g, int64_t y, int64_t xo) {
  Window win{y * g.h / g.ho, ((y + 1) * g.h + g.ho - 1) / g.ho, xo * g.w / g.wo, ((xo + 1) * g.w + g.wo - 1) / g.wo, 0};
  win.divisor = (win.ye - win.ys) * (win.xe - win.xs);
  return win;
}

}  // namespace qn::kernels
