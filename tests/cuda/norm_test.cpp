// CUDA softmax, log-softmax, LayerNorm and BatchNorm against the CPU on the same inputs: every dim of a 3-D tensor,
// rows longer than a block, a row of -inf, LayerNorm with and without its affine transform, BatchNorm's three
// kernels, alone and synchronized over processes. Label `cuda`.
#include <gtest/gtest.h>

#include <limits>

#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "kernels/layer_norm.h"
#include "kernels/softmax.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;
using testing::expect_matches_cpu;

const Device kGpu = Device::cuda(0);

TEST(CudaNorm, SoftmaxOverEveryDim) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    for (const Shape& shape : {Shape{5, 7, 9}, Shape{3, 2, 1000}}) {
      const Tensor x = testing::random(shape, t, 1);
      for (int64_t dim : {0, 1, 2, -1}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " dim " + std::to_string(dim));
        expect_matches_cpu(kernels::softmax(x.to(kGpu), dim), kernels::softmax(x, dim));
        expect_matches_cpu(kernels::log_softmax(x.to(kGpu), dim), kernels::log_softmax(x, dim));
      }
    }
  }
  Tensor masked = testing::random({3, 6}, DType::f32, 2);
  for (int j = 0; j < 6; ++j) masked.data_ptr<float>()[6 + j] = -std::numeric_limits<float>::infinity();
  masked.data_ptr<float>()[2] = -std::numeric_limits<float>::infinity();
  expect_matches_cpu(kernels::softmax(masked.to(kGpu), 1), kernels::softmax(masked, 1));  // row 1: NaN, as on the CPU
  expect_matches_cpu(kernels::log_softmax(masked.to(kGpu), 1), kernels::log_softmax(masked, 1));
}

TEST(CudaNorm, LayerNormWithAndWithoutAffine) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    const Tensor x = testing::random({4, 6, 300}, t, 3);
    const Tensor w = testing::random({300}, t, 4), b = testing::random({300}, t, 5);
    for (bool affine : {false, true}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + (affine ? " affine" : ""));
      const Tensor wc = affine ? w : Tensor(), bc = affine ? b : Tensor();
      const auto want = kernels::layer_norm(x, {300}, wc, bc, 1e-5);
      const auto got =
          kernels::layer_norm(x.to(kGpu), {300}, affine ? w.to(kGpu) : Tensor(), affine ? b.to(kGpu) : Tensor(), 1e-5);
      expect_matches_cpu(got.out, want.out);
      expect_matches_cpu(got.mean, want.mean);
      expect_matches_cpu(got.rstd, want.rstd);
    }
    const Tensor two_dims = testing::random_strided({8, 5, 12}, t, 6);  // normalized over (5, 12), strided input
    expect_matches_cpu(kernels::layer_norm(two_dims.to(kGpu), {5, 12}, Tensor(), Tensor()).out,
                       kernels::layer_norm(two_dims, {5, 12}, Tensor(), Tensor()).out);
  }
}

// BatchNorm's moments, forward and backward (training and eval) on planes large and small and on (N, C).
TEST(CudaNorm, BatchNormMatchesTheCpu) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    for (const Shape& shape : {Shape{4, 6, 17, 19}, Shape{8, 5, 2, 3}, Shape{16, 7}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + std::to_string(shape.numel()));
      const Tensor x = testing::random(shape, t, 7), grad = testing::random(shape, t, 8);
      const int64_t c = shape[1];
      const Tensor w = testing::random({c}, t, 9), b = testing::random({c}, t, 10);
      const auto want = kernels::batch_norm_moments(x);
      const auto got = kernels::batch_norm_moments(x.to(kGpu));
      expect_matches_cpu(got.mean, want.mean);
      expect_matches_cpu(got.var, want.var);
      const Tensor rstd = testing::random({c}, t, 11);  // any positive-or-not scale exercises the arithmetic
      expect_matches_cpu(
          kernels::batch_norm_forward(x.to(kGpu), want.mean.to(kGpu), rstd.to(kGpu), w.to(kGpu), b.to(kGpu)),
          kernels::batch_norm_forward(x, want.mean, rstd, w, b));
      for (bool training : {true, false}) {
        const auto g_want = kernels::batch_norm_backward(grad, x, want.mean, rstd, w, training, true, true);
        const auto g_got = kernels::batch_norm_backward(grad.to(kGpu), x.to(kGpu), want.mean.to(kGpu), rstd.to(kGpu),
                                                        w.to(kGpu), training, true, true);
        expect_matches_cpu(g_got.dx, g_want.dx);
        expect_matches_cpu(g_got.dweight, g_want.dweight);
        expect_matches_cpu(g_got.dbias, g_want.dbias);
      }
    }
  }
}

// Synchronized over a twin (the sums over processes doubled), the GPU's BatchNorm computes what the CPU's does.
TEST(CudaNorm, SynchronizedBatchNormMatchesTheCpu) {
  QN_REQUIRE_CUDA();
  const kernels::SumOverProcesses twin = [](std::vector<double>& values) {
    for (double& v : values) v *= 2;
  };
  for (const Shape& shape : {Shape{4, 6, 17, 19}, Shape{16, 7}}) {
    SCOPED_TRACE(std::to_string(shape.numel()));
    const Tensor x = testing::random(shape, DType::f32, 7), grad = testing::random(shape, DType::f32, 8);
    const Tensor w = testing::random({shape[1]}, DType::f32, 9);
    const auto want = kernels::batch_norm_moments(x, twin);
    const auto got = kernels::batch_norm_moments(x.to(kGpu), twin);
    EXPECT_EQ(got.count, want.count);
    expect_matches_cpu(got.mean, want.mean, 1e-5, 1e-6);
    expect_matches_cpu(got.var, want.var, 1e-5, 1e-6);
    const Tensor rstd = kernels::rsqrt(kernels::binary(kernels::BinaryOp::add, want.var, 1e-5));
    for (bool training : {true, false}) {
      const auto g_want = kernels::batch_norm_backward(grad, x, want.mean, rstd, w, training, true, true, twin);
      const auto g_got = kernels::batch_norm_backward(grad.to(kGpu), x.to(kGpu), want.mean.to(kGpu), rstd.to(kGpu),
                                                      w.to(kGpu), training, true, true, twin);
      expect_matches_cpu(g_got.dx, g_want.dx, 1e-5, 1e-6);
      expect_matches_cpu(g_got.dweight, g_want.dweight, 1e-5, 1e-5);
      expect_matches_cpu(g_got.dbias, g_want.dbias, 1e-5, 1e-5);
    }
  }
}

}  // namespace
}  // namespace qn
