// conv2d (im2col + GEMM, and direct depthwise) against the definition as a naive loop.
#include "kernels/conv.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/transpose.h"
#include "tests/reference.h"

namespace qn::kernels {
namespace {

using testing::at;
using testing::Index;

double reference(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p, const Index& i) {
  const int64_t n = i[0], o = i[1], y = i[2], xo = i[3];
  const int64_t cg = w.size(1);
  const int64_t og = w.size(0) / p.groups;
  const int64_t group = o / og;
  double total = b.defined() ? at(b, {o}) : 0.0;
  for (int64_t c = 0; c < cg; ++c) {
    for (int64_t ky = 0; ky < w.size(2); ++ky) {
      for (int64_t kx = 0; kx < w.size(3); ++kx) {
        const int64_t iy = y * p.stride[0] - p.padding[0] + ky * p.dilation[0];
        const int64_t ix = xo * p.stride[1] - p.padding[2] + kx * p.dilation[1];
        if (iy < 0 || iy >= x.size(2) || ix < 0 || ix >= x.size(3)) continue;
        total += at(x, {n, group * cg + c, iy, ix}) * at(w, {o, c, ky, kx});
      }
    }
  }
  return total;
}

Shape out_shape(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  return {x.size(0), w.size(0),
          (x.size(2) + p.padding[0] + p.padding[1] - p.dilation[0] * (w.size(2) - 1) - 1) / p.stride[0] + 1,
          (x.size(3) + p.padding[2] + p.padding[3] - p.dilation[1] * (w.size(3) - 1) - 1) / p.stride[1] + 1};
}

struct Case {
  Shape input, weight;
  Conv2dParams params;
  bool bias;
};

TEST(Conv2d, Im2colMatchesDefinition) {
  const Case cases[] = {
      {{2, 3, 7, 6}, {4, 3, 3, 3}, Conv2dParams{}, true},
      {{1, 3, 8, 8}, {5, 3, 3, 3}, Conv2dParams{}.with_stride(2).with_padding(1), true},
      {{2, 4, 9, 7}, {6, 2, 3, 2}, Conv2dParams{}.with_groups(2).with_padding(1, 2, 0, 1), false},
      {{1, 2, 9, 9}, {3, 2, 3, 3}, Conv2dParams{}.with_dilation(2).with_padding(2), true},
      {{3, 8, 5, 5}, {16, 8, 1, 1}, Conv2dParams{}, true},   // pointwise: no im2col
      {{3, 8, 2, 2}, {5, 8, 1, 1}, Conv2dParams{}, true},    // pointwise on a small plane: one GEMM for the batch
      {{300, 6, 2, 2}, {5, 6, 1, 1}, Conv2dParams{}, true},  // the same, copies split over threads (when 2+)
      {{4, 8, 1, 1}, {6, 8, 1, 1}, Conv2dParams{}, true},    // pointwise on one pixel
      {{1, 8, 6, 6}, {4, 8, 1, 1}, Conv2dParams{}.with_stride(2), false},
      {{2, 6, 5, 5}, {6, 1, 3, 3}, Conv2dParams{}.with_groups(6).with_padding(1), true},  // depthwise via GEMM
  };
  for (const Case& c : cases) {
    for (DType t : {DType::f32, DType::f64}) {
      Tensor x = testing::random(c.input, t, 1);
      Tensor w = testing::random(c.weight, t, 2);
      Tensor b = c.bias ? testing::random({c.weight[0]}, t, 3) : Tensor();
      Tensor y = conv2d_im2col(x, w, b, c.params);
      SCOPED_TRACE(x.describe() + " * " + w.describe());
      testing::expect_all_close(
          y, out_shape(x, w, c.params), [&](const Index& i) { return reference(x, w, b, c.params, i); }, 1e-4, 1e-5);
    }
  }
}

TEST(Conv2d, DepthwiseMatchesDefinition) {
  const Case cases[] = {
      {{2, 6, 9, 8}, {6, 1, 3, 3}, Conv2dParams{}.with_groups(6).with_padding(1), true},
      {{1, 4, 11, 11}, {4, 1, 5, 5}, Conv2dParams{}.with_groups(4).with_stride(2).with_padding(1, 2, 1, 2), false},
      {{1, 3, 8, 8}, {6, 1, 3, 3}, Conv2dParams{}.with_groups(3).with_dilation(2), true},     // channel multiplier 2
      {{2, 16, 8, 8}, {16, 1, 3, 3}, Conv2dParams{}.with_groups(16).with_padding(1), true},   // whole 8 x 8 blocks
      {{2, 21, 7, 9}, {21, 1, 3, 3}, Conv2dParams{}.with_groups(21).with_padding(1), false},  // ragged blocks
  };
  for (const Case& c : cases) {
    for (DType t : {DType::f32, DType::f64}) {
      SCOPED_TRACE(c.input.str() + " " + std::string(dtype_name(t)));
      Tensor x = testing::random_strided(c.input, t, 1);
      Tensor w = testing::random(c.weight, t, 2);
      Tensor b = c.bias ? testing::random({c.weight[0]}, t, 3) : Tensor();
      const double tol = t == DType::f32 ? 1e-5 : 1e-12;
      for (Tensor y : {conv2d_depthwise(x, w, b, c.params), conv2d(x, w, b, c.params)}) {
        testing::expect_all_close(
            y, out_shape(x, w, c.params), [&](const Index& i) { return reference(x, w, b, c.params, i); }, tol, tol);
      }
    }
  }
}

// The depthwise kernels' gradients against their definitions, in f32 (the f64 ones are gradchecked through the op
// table), with strides, padding on one side, a 5 x 5 kernel, dilation, a channel multiplier, and a batch of 16
// whose weight gradient is summed over several groups of images. At 1 thread and at 2 the bits are the same.
TEST(Conv2d, DepthwiseGradientsMatchDefinition) {
  const Case cases[] = {
      {{1, 64, 40, 40}, {64, 1, 3, 3}, Conv2dParams{}.with_groups(64).with_padding(1), false},
      {{1, 96, 48, 47}, {96, 1, 3, 3}, Conv2dParams{}.with_groups(96).with_stride(2).with_padding(0, 1, 0, 1), false},
      {{2, 40, 30, 30}, {40, 1, 5, 5}, Conv2dParams{}.with_groups(40).with_stride(2).with_padding(2), false},
      {{5, 8, 6, 7}, {16, 1, 3, 3}, Conv2dParams{}.with_groups(8).with_dilation(2).with_padding(1), false},
      {{16, 64, 8, 8}, {64, 1, 3, 3}, Conv2dParams{}.with_groups(64).with_padding(1), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input.str() + " * " + c.weight.str());
    const Tensor x = testing::random(c.input, DType::f32, 1), w = testing::random(c.weight, DType::f32, 2);
    const Shape out = out_shape(x, w, c.params);
    const Tensor g = testing::random(out, DType::f32, 3);
    const Tensor dx = conv2d_backward_input(g, w, c.input, c.params);
    const Tensor dw = conv2d_backward_weight(g, x, c.weight, c.params);
    {
      const int threads = get_num_threads();
      set_num_threads(1);
      const Tensor dx_serial = conv2d_backward_input(g, w, c.input, c.params);
      const Tensor dw_serial = conv2d_backward_weight(g, x, c.weight, c.params);
      set_num_threads(threads);
      EXPECT_EQ(std::memcmp(dx_serial.raw_data(), dx.raw_data(), dx.nbytes()), 0);
      EXPECT_EQ(std::memcmp(dw_serial.raw_data(), dw.raw_data(), dw.nbytes()), 0);
    }
    // The definitions, in f64: every (output pixel, tap) pair adds g * w to dx and g * x to dw.
    std::vector<double> want_dx(static_cast<size_t>(x.numel()), 0.0), want_dw(static_cast<size_t>(w.numel()), 0.0);
    const int64_t m = c.weight[0] / c.input[1];
    for (const Index& i : testing::all_indices(out)) {
      const int64_t n = i[0], o = i[1], y = i[2], xo = i[3], ch = o / m;
      for (int64_t ky = 0; ky < c.weight[2]; ++ky) {
        for (int64_t kx = 0; kx < c.weight[3]; ++kx) {
          const int64_t iy = y * c.params.stride[0] - c.params.padding[0] + ky * c.params.dilation[0];
          const int64_t ix = xo * c.params.stride[1] - c.params.padding[2] + kx * c.params.dilation[1];
          if (iy < 0 || iy >= c.input[2] || ix < 0 || ix >= c.input[3]) continue;
          const int64_t at_x = ((n * c.input[1] + ch) * c.input[2] + iy) * c.input[3] + ix;
          const int64_t at_w = (o * c.weight[2] + ky) * c.weight[3] + kx;
          want_dx[static_cast<size_t>(at_x)] += at(g, i) * at(w, {o, 0, ky, kx});
          want_dw[static_cast<size_t>(at_w)] += at(g, i) * at(x, {n, ch, iy, ix});
        }
      }
    }
    testing::expect_all_close(
        dx, c.input,
        [&](const Index& i) {
          return want_dx[static_cast<size_t>(((i[0] * c.input[1] + i[1]) * c.input[2] + i[2]) * c.input[3] + i[3])];
        },
        1e-4, 1e-4);
    testing::expect_all_close(
        dw, c.weight,
        [&](const Index& i) { return want_dw[static_cast<size_t>((i[0] * c.weight[2] + i[2]) * c.weight[3] + i[3])]; },
        1e-4, 1e-3);
  }
}

// The transpose the depthwise kernels switch layouts with: whole 8 x 8 blocks, ragged edges on either side, shapes
// smaller than a block and shapes over several 64 x 64 tiles, against the definition.
TEST(Conv2d, TransposeMatchesDefinition) {
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
           {8, 8}, {16, 24}, {13, 8}, {8, 21}, {19, 27}, {3, 5}, {1, 9}, {32, 1}, {130, 75}, {64, 200}, {72, 136}}) {
    std::vector<float> src(static_cast<size_t>(rows * cols)), dst(src.size(), -1.0f);
    for (size_t k = 0; k < src.size(); ++k) src[k] = static_cast<float>(k) + 0.5f;
    cpu::transpose(src.data(), rows, cols, dst.data());
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        ASSERT_EQ(dst[j * rows + i], src[i * cols + j]) << rows << " x " << cols << " at " << i << ", " << j;
      }
    }
  }
}

// The input gradient's buffer arrives uninitialized (kernels::conv2d_backward_input allocates it with empty()):
// every CPU path must write each element of it, the im2col one (which adds its columns into the image) included.
// Each kernel runs on a buffer of NaNs and on one of zeros; the results must be the same bits.
TEST(Conv2d, InputGradientWritesEveryElement) {
  struct Path {
    Case c;
    bool depthwise;  // the direct depthwise kernel, else im2col + GEMM
  };
  const Path paths[] = {
      {{{2, 4, 9, 8}, {3, 4, 3, 3}, Conv2dParams{}.with_padding(1), false}, false},                // im2col
      {{{2, 4, 9, 8}, {3, 4, 1, 1}, Conv2dParams{}.with_stride(2), false}, false},                 // a quarter fed
      {{{2, 4, 9, 8}, {3, 4, 1, 1}, Conv2dParams{}, false}, false},                                // pointwise
      {{{5, 6, 2, 2}, {3, 6, 1, 1}, Conv2dParams{}, false}, false},                                // batched
      {{{2, 6, 9, 8}, {6, 1, 3, 3}, Conv2dParams{}.with_groups(6).with_padding(1), false}, true},  // depthwise
      {{{2, 3, 9, 9}, {6, 1, 5, 5}, Conv2dParams{}.with_groups(3).with_stride(2), false}, true},   // multiplier 2
  };
  for (const Path& path : paths) {
    const Case& c = path.c;
    SCOPED_TRACE(c.input.str() + " * " + c.weight.str());
    const Tensor w = testing::random(c.weight, DType::f32, 2);
    const Tensor g =
        testing::random(conv2d(testing::random(c.input, DType::f32, 1), w, Tensor(), c.params).shape(), DType::f32, 3);
    Tensor from_zeros = zeros(c.input), from_nans = full(c.input, std::numeric_limits<double>::quiet_NaN());
    for (Tensor* dx : {&from_zeros, &from_nans}) {
      path.depthwise ? cpu::conv2d_depthwise_backward_input(g, w, c.params, *dx)
                     : cpu::conv2d_im2col_backward_input(g, w, c.params, *dx);
    }
    EXPECT_EQ(std::memcmp(from_nans.raw_data(), from_zeros.raw_data(), from_zeros.nbytes()), 0);
  }
}

TEST(Conv2d, SamePaddingLikeTensorFlow) {
  // Output ceil(size / stride); the odd padding pixel goes at the end.
  EXPECT_EQ(same_padding(224, 3, 2), (std::array<int64_t, 2>{0, 1}));
  EXPECT_EQ(same_padding(224, 3, 1), (std::array<int64_t, 2>{1, 1}));
  EXPECT_EQ(same_padding(300, 5, 2), (std::array<int64_t, 2>{1, 2}));
  EXPECT_EQ(same_padding(75, 3, 2), (std::array<int64_t, 2>{1, 1}));
  EXPECT_EQ(same_padding(19, 5, 1), (std::array<int64_t, 2>{2, 2}));
  // With it, a stride-2 3x3 conv on 300 pixels gives 150 (EfficientNet-B3's stem).
  const auto pad = same_padding(300, 3, 2);
  Tensor y = conv2d(zeros({1, 3, 300, 300}), zeros({8, 3, 3, 3}), Tensor(),
                    Conv2dParams{}.with_stride(2).with_padding(pad[0], pad[1], pad[0], pad[1]));
  EXPECT_EQ(y.shape(), (Shape{1, 8, 150, 150}));
}

TEST(Conv2d, ErrorsNameShapes) {
  EXPECT_QN_ERROR(conv2d(ones({1, 3, 5, 5}), ones({4, 2, 3, 3}), Tensor()), "conv2d", "expects 2 input channels",
                  "has 3");
  EXPECT_QN_ERROR(conv2d(ones({1, 3, 2, 2}), ones({4, 3, 3, 3}), Tensor()), "conv2d", "larger than the padded input");
  EXPECT_QN_ERROR(conv2d(ones({3, 5, 5}), ones({4, 3, 3, 3}), Tensor()), "conv2d", "(N, C, H, W)");
  EXPECT_QN_ERROR(conv2d(ones({1, 4, 5, 5}), ones({4, 2, 3, 3}), ones({3}), Conv2dParams{}.with_groups(2)), "conv2d",
                  "bias");
}

}  // namespace
}  // namespace qn::kernels
