// CUDA scalar quantization and k-means assignment against the CPU: int8 and int4 fake quantization per tensor and
// per channel, the Quant-Noise mix with the same uniform draws, nearest centroids on well-separated data (no
// near-ties for the two summation orders to split), the assignment error and min/max. Label `cuda`.
#include "kernels/quant.h"

#include <gtest/gtest.h>

#include "core/generator.h"
#include "kernels/elementwise.h"
#include "kernels/index.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

const Device kGpu = Device::cuda(0);

void expect_same(const Tensor& gpu_result, const Tensor& cpu_result) {
  ASSERT_TRUE(gpu_result.device().is_cuda());
  testing::expect_all_close(
      gpu_result.to(Device::cpu()), cpu_result.shape(), [&](const auto& idx) { return at(cpu_result, idx); }, 0.0, 0.0);
}

TEST(CudaQuant, ScalarNoiseMatchesTheCpuExactly) {
  QN_REQUIRE_CUDA();
  Generator gen(1);
  const Tensor w = testing::random({6, 40}, DType::f32, 2);
  const Tensor uniform = rand({6, 40}, DType::f32, &gen);
  QParams per_tensor{8, {0.02f}, {128}};
  QParams per_channel{4, {0.1f, 0.2f, 0.15f, 0.3f, 0.05f, 0.12f}, {7, 8, 6, 9, 8, 7}};
  for (const QParams& q : {per_tensor, per_channel}) {
    for (double p : {1.0, 0.3}) {
      const auto want = kernels::scalar_quant_noise(w, q, p < 1 ? uniform : Tensor(), p);
      const auto got = kernels::scalar_quant_noise(w.to(kGpu), q, p < 1 ? uniform.to(kGpu) : Tensor(), p);
      expect_same(got.value, want.value);
      expect_same(got.pass, want.pass);
    }
  }
  const kernels::MinMax want = kernels::min_max(w, true), got = kernels::min_max(w.to(kGpu), true);
  EXPECT_EQ(got.min, want.min);
  EXPECT_EQ(got.max, want.max);
  EXPECT_EQ(kernels::min_max(w.to(kGpu), false).max, kernels::min_max(w, false).max);
}

TEST(CudaQuant, NearestCentroidAndAssignmentError) {
  QN_REQUIRE_CUDA();
  Generator gen(3);
  // Centroids on a coarse grid and points near them: the nearest is clear by a wide margin.
  const Tensor centroids = randint(-20, 20, {16, 8}, DType::i64, &gen).to(DType::f32);
  const Tensor picks = randint(0, 16, {300}, DType::i64, &gen);
  const Tensor noise = kernels::binary(kernels::BinaryOp::mul, testing::random({300, 8}, DType::f32, 4), 0.1);
  const Tensor points = kernels::binary(kernels::BinaryOp::add, kernels::index_select(centroids, 0, picks), noise);
  const Tensor want = kernels::nearest_centroid(points, centroids);
  // The construction's own answer, on the CPU too.
  testing::expect_all_close(
      want, picks.shape(), [&](const auto& idx) { return at(picks, idx); }, 0.0, 0.0);
  expect_same(kernels::nearest_centroid(points.to(kGpu), centroids.to(kGpu)), want);
  const double error = kernels::assignment_error(points, centroids, want);
  EXPECT_NEAR(kernels::assignment_error(points.to(kGpu), centroids.to(kGpu), want.to(kGpu)), error, 1e-9 * error);
}

}  // namespace
}  // namespace qn
