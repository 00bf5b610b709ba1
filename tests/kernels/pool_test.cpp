// Pooling against naive window loops with PyTorch's size rules.
#include "kernels/pool.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/reference.h"

namespace qn::kernels {
namespace {

using testing::at;
using testing::Index;

TEST(MaxPool2d, ValuesIndicesAndSizes) {
  Tensor x = testing::random_strided({2, 3, 7, 8}, DType::f64);
  for (const Pool2dParams& p :
       {Pool2dParams::square(2, 2), Pool2dParams::square(3, 2, 1), Pool2dParams::square(3, 1)}) {
    MaxPoolResult r = max_pool2d(x, p);
    const int64_t ho = (7 + 2 * p.padding[0] - p.kernel[0]) / p.stride[0] + 1;
    const int64_t wo = (8 + 2 * p.padding[1] - p.kernel[1]) / p.stride[1] + 1;
    testing::expect_all_close(
        r.out, {2, 3, ho, wo},
        [&](const Index& i) {
          double best = -INFINITY;
          for (int64_t ky = 0; ky < p.kernel[0]; ++ky) {
            for (int64_t kx = 0; kx < p.kernel[1]; ++kx) {
              const int64_t y = i[2] * p.stride[0] - p.padding[0] + ky, xx = i[3] * p.stride[1] - p.padding[1] + kx;
              if (y >= 0 && y < 7 && xx >= 0 && xx < 8) best = std::max(best, at(x, {i[0], i[1], y, xx}));
            }
          }
          return best;
        },
        0, 0);
    for (const Index& i : testing::all_indices(r.out.shape())) {
      const int64_t flat = static_cast<int64_t>(at(r.indices, i));
      ASSERT_EQ(at(x, {i[0], i[1], flat / 8, flat % 8}), at(r.out, i));
    }
  }
  Pool2dParams ceil = Pool2dParams::square(2, 2);
  ceil.ceil_mode = true;
  EXPECT_EQ(max_pool2d(x, ceil).out.shape(), (Shape{2, 3, 4, 4}));
  EXPECT_QN_ERROR(max_pool2d(x, Pool2dParams::square(2, 2, 2)), "max_pool2d", "half the kernel");
}

TEST(AvgPool2d, CountIncludePadBothWays) {
  Tensor x = testing::random({1, 2, 5, 6}, DType::f64);
  for (bool include : {true, false}) {
    Pool2dParams p = Pool2dParams::square(3, 2, 1);
    p.count_include_pad = include;
    Tensor y = avg_pool2d(x, p);
    testing::expect_all_close(
        y, {1, 2, 3, 3},
        [&](const Index& i) {
          double total = 0;
          int count = 0, padded = 0;
          for (int64_t ky = 0; ky < 3; ++ky) {
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t yy = i[2] * 2 - 1 + ky, xx = i[3] * 2 - 1 + kx;
              if (yy <= 5 && xx <= 6) ++padded;  // within input + padding
              if (yy >= 0 && yy < 5 && xx >= 0 && xx < 6) {
                total += at(x, {i[0], i[1], yy, xx});
                ++count;
              }
            }
          }
          return total / (include ? padded : count);
        },
        1e-12, 1e-12);
  }
}

TEST(AdaptiveAvgPool2d, WindowsCoverTheInput) {
  Tensor x = testing::random({2, 3, 7, 5}, DType::f64);
  for (const auto& size : {std::pair<int64_t, int64_t>{1, 1}, {3, 2}, {7, 5}, {4, 4}}) {
    const int64_t oh = size.first, ow = size.second;  // not a structured binding: clang 14 cannot capture those
    Tensor y = adaptive_avg_pool2d(x, oh, ow);
    testing::expect_all_close(
        y, {2, 3, oh, ow},
        [&](const Index& i) {
          const int64_t y0 = i[2] * 7 / oh, y1 = ((i[2] + 1) * 7 + oh - 1) / oh;
          const int64_t x0 = i[3] * 5 / ow, x1 = ((i[3] + 1) * 5 + ow - 1) / ow;
          double total = 0;
          for (int64_t a = y0; a < y1; ++a)
            for (int64_t b = x0; b < x1; ++b) total += at(x, {i[0], i[1], a, b});
          return total / static_cast<double>((y1 - y0) * (x1 - x0));
        },
        1e-12, 1e-12);
  }
  // Global pooling is the spatial mean.
  Tensor g = adaptive_avg_pool2d(x, 1, 1);
  double total = 0;
  for (int64_t a = 0; a < 7; ++a)
    for (int64_t b = 0; b < 5; ++b) total += at(x, {1, 2, a, b});
  EXPECT_NEAR(at(g, {1, 2, 0, 0}), total / 35, 1e-12);
}

}  // namespace
}  // namespace qn::kernels
