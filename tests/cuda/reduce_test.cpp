// CUDA reductions against the CPU's on the same inputs: every set of dims of a 3-D tensor, strided inputs, integer
// sums, NaN through max and min, argmax with ties and NaN, and one long row. Label `cuda`.
#include "kernels/reduce.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/generator.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;
using testing::expect_matches_cpu;

const Device kGpu = Device::cuda(0);

const std::vector<std::vector<int64_t>> kDimSets = {{}, {0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {-1}};

TEST(CudaReduce, EveryDimSetMatchesTheCpu) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    for (const Tensor& x : {testing::random({6, 45, 7}, t, 1), testing::random_strided({6, 45, 7}, t, 2)}) {
      const Tensor g = x.to(kGpu);
      for (const auto& dims : kDimSets) {
        for (bool keepdim : {false, true}) {
          SCOPED_TRACE(std::string(dtype_name(t)) + " dims " + std::to_string(dims.size()));
          expect_matches_cpu(kernels::sum(g, dims, keepdim), kernels::sum(x, dims, keepdim), 1e-6, 1e-12);
          expect_matches_cpu(kernels::mean(g, dims, keepdim), kernels::mean(x, dims, keepdim), 1e-6, 1e-12);
          expect_matches_cpu(kernels::amax(g, dims, keepdim), kernels::amax(x, dims, keepdim), 1e-6, 1e-12);
          expect_matches_cpu(kernels::amin(g, dims, keepdim), kernels::amin(x, dims, keepdim), 1e-6, 1e-12);
          expect_matches_cpu(kernels::var(g, dims, 1, keepdim), kernels::var(x, dims, 1, keepdim), 1e-6, 1e-12);
        }
      }
    }
  }
}

TEST(CudaReduce, IntegersNanAndALongRow) {
  QN_REQUIRE_CUDA();
  Generator gen(3);
  for (DType t : {DType::i64, DType::i32, DType::i8, DType::u8}) {
    SCOPED_TRACE(dtype_name(t));
    const Tensor x = randint(0, 100, {5, 300}, DType::i64, &gen).to(t);
    for (const auto& dims : kDimSets) {
      if (dims.size() == 1 && (dims[0] == 2 || dims[0] == -1)) continue;                       // 2-D here
      expect_matches_cpu(kernels::sum(x.to(kGpu), dims), kernels::sum(x, dims), 1e-6, 1e-12);  // i64 sums
      expect_matches_cpu(kernels::amax(x.to(kGpu), dims), kernels::amax(x, dims), 1e-6, 1e-12);
      expect_matches_cpu(kernels::amin(x.to(kGpu), dims), kernels::amin(x, dims), 1e-6, 1e-12);
    }
  }
  Tensor with_nan = testing::random({4, 50}, DType::f32, 4);
  with_nan.data_ptr<float>()[60] = std::numeric_limits<float>::quiet_NaN();  // row 1
  expect_matches_cpu(kernels::amax(with_nan.to(kGpu), {1}), kernels::amax(with_nan, {1}), 1e-6, 1e-12);
  expect_matches_cpu(kernels::amin(with_nan.to(kGpu), {1}), kernels::amin(with_nan, {1}), 1e-6, 1e-12);
  const Tensor long_row = testing::random({1 << 20}, DType::f32, 5);
  expect_matches_cpu(kernels::sum(long_row.to(kGpu)), kernels::sum(long_row), 1e-6, 1e-12);
  EXPECT_QN_ERROR(kernels::amax(zeros({3, 0}, kGpu), {1}), "empty reduction");
  expect_matches_cpu(kernels::sum(zeros({3, 0}, kGpu), {1}), kernels::sum(zeros({3, 0}), {1}), 1e-6, 1e-12);
}

// The float max's identity is -inf, not lowest(): a row of -inf has the maximum -inf (and +inf the minimum +inf).
TEST(CudaReduce, InfinitiesAreTheirOwnExtremes) {
  QN_REQUIRE_CUDA();
  for (const DType t : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(t));
    const Tensor low = full({2, 37}, -std::numeric_limits<double>::infinity(), t);
    const Tensor high = full({2, 37}, std::numeric_limits<double>::infinity(), t);
    expect_matches_cpu(kernels::amax(low.to(kGpu), {1}), kernels::amax(low, {1}), 0, 0);
    expect_matches_cpu(kernels::amin(high.to(kGpu), {1}), kernels::amin(high, {1}), 0, 0);
    EXPECT_TRUE(std::isinf(kernels::amax(low.to(kGpu)).item<double>()));
  }
}

TEST(CudaReduce, ArgmaxTakesTheFirstMaximumAndNan) {
  QN_REQUIRE_CUDA();
  Generator gen(6);
  // Few distinct values, so every row has ties; rows longer and shorter than a block.
  for (int64_t n : {7, 256, 1000}) {
    const Tensor x = randint(0, 4, {9, n}, DType::i64, &gen).to(DType::f32);
    expect_matches_cpu(kernels::argmax(x.to(kGpu), 1), kernels::argmax(x, 1), 1e-6, 1e-12);
    expect_matches_cpu(kernels::argmax(x.to(kGpu), 0), kernels::argmax(x, 0), 1e-6, 1e-12);
    Tensor with_nan = x.clone();
    with_nan.data_ptr<float>()[n + 3] = std::numeric_limits<float>::quiet_NaN();
    with_nan.data_ptr<float>()[n + 5] = std::numeric_limits<float>::quiet_NaN();
    expect_matches_cpu(kernels::argmax(with_nan.to(kGpu), 1), kernels::argmax(with_nan, 1), 1e-6, 1e-12);
  }
  const Tensor ints = randint(-3, 3, {4, 33}, DType::i64, &gen);
  expect_matches_cpu(kernels::argmax(ints.to(kGpu), 1, true), kernels::argmax(ints, 1, true), 1e-6, 1e-12);
}

}  // namespace
}  // namespace qn
