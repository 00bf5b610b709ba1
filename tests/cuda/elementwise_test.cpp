// Every elementwise kernel on the GPU against the CPU kernel on the same inputs: floats within 1e-5 relative in
// f32 (the two math libraries differ by an ulp or so) and 1e-12 in f64, integers and comparisons exactly; operands
// contiguous, transposed and broadcast. Label `cuda`: skipped where no GPU is visible.
#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/generator.h"
#include "tests/cuda/cuda_test.h"
#include "tests/kernels/elementwise_ops.h"
#include "tests/reference.h"

namespace qn {
namespace {

using kernels::BinaryOp;
using kernels::CompareOp;
using kernels::UnaryOp;
using testing::at;
using testing::expect_matches_cpu;
using testing::kBinaryOps;
using testing::kCompareOps;
using testing::kUnaryOps;

const Device kGpu = Device::cuda(0);

Tensor gpu(const Tensor& t) { return t.to(kGpu); }

Tensor ints(int64_t low, int64_t high, const Shape& shape, DType dtype, uint64_t seed) {
  Generator gen(seed);
  return randint(low, high, shape, DType::i64, &gen).to(dtype);
}

// |x| + 0.5: inputs for log, sqrt, rsqrt and pow's base.
Tensor positive(const Tensor& x) { return kernels::binary(BinaryOp::add, kernels::unary(UnaryOp::abs, x), 0.5); }

bool needs_positive(UnaryOp op) { return op == UnaryOp::log || op == UnaryOp::sqrt || op == UnaryOp::rsqrt; }

TEST(CudaElementwise, UnaryFloatsMatchTheCpu) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    for (const Tensor& base : {testing::random({17, 33}, t, 1), testing::random_strided({17, 33}, t, 2)}) {
      for (UnaryOp op : kUnaryOps) {
        SCOPED_TRACE(std::string(kernels::op_name(op)) + " " + std::string(dtype_name(t)));
        const Tensor x = needs_positive(op) ? positive(base) : base;
        expect_matches_cpu(kernels::unary(op, gpu(x)), kernels::unary(op, x));
      }
    }
  }
}

TEST(CudaElementwise, UnaryIntegersMatchTheCpu) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::i64, DType::i32, DType::i8, DType::u8}) {
    const Tensor x = t == DType::u8 ? ints(0, 200, {9, 10}, t, 3) : ints(-60, 60, {9, 10}, t, 3);
    for (UnaryOp op : {UnaryOp::neg, UnaryOp::abs, UnaryOp::relu}) {
      SCOPED_TRACE(std::string(kernels::op_name(op)) + " " + std::string(dtype_name(t)));
      expect_matches_cpu(kernels::unary(op, gpu(x)), kernels::unary(op, x));
    }
  }
}

TEST(CudaElementwise, BinaryFloatsMatchTheCpuForEveryBroadcast) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    const Tensor a = testing::random({17, 33}, t, 4);
    const std::vector<std::pair<Tensor, Tensor>> pairs = {
        {a, testing::random({17, 33}, t, 5)},          // same shape
        {testing::random_strided({17, 33}, t, 6), a},  // a transposed view
        {a, testing::random({33}, t, 7)},              // a row broadcast
        {testing::random({17, 1}, t, 8), a},           // a column broadcast on the left
        {a, scalar_tensor(0.75, t)}};                  // a scalar
    for (const auto& [x, y] : pairs) {
      for (BinaryOp op : kBinaryOps) {
        SCOPED_TRACE(std::string(kernels::op_name(op)) + " " + std::string(dtype_name(t)));
        const Tensor left = op == BinaryOp::pow ? positive(x) : x;
        expect_matches_cpu(kernels::binary(op, gpu(left), gpu(y)), kernels::binary(op, left, y));
      }
    }
  }
}

TEST(CudaElementwise, BinaryIntegersMatchTheCpu) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::i64, DType::i32, DType::i8}) {
    const Tensor a = ints(-5, 5, {6, 7}, t, 9);
    const Tensor b = ints(1, 4, {7}, t, 10);  // nonzero divisors, exponents 1..3 (no overflow in i8)
    for (BinaryOp op : kBinaryOps) {
      if (op == BinaryOp::gelu_backward || op == BinaryOp::silu_backward || op == BinaryOp::sigmoid_backward) {
        continue;  // floating operands only
      }
      SCOPED_TRACE(std::string(kernels::op_name(op)) + " " + std::string(dtype_name(t)));
      expect_matches_cpu(kernels::binary(op, gpu(a), gpu(b)), kernels::binary(op, a, b));
    }
  }
  const Tensor a = ints(-5, 5, {6, 7}, DType::i64, 11);
  EXPECT_QN_ERROR(kernels::binary(BinaryOp::div, gpu(a), gpu(ints(0, 1, {7}, DType::i64, 12))),
                  "integer division by zero");
}

TEST(CudaElementwise, AddScaledCompareClampWhereMaskedScaleMatchTheCpu) {
  QN_REQUIRE_CUDA();
  const Tensor a = testing::random({12, 20}, DType::f32, 13);
  const Tensor b = testing::random({20}, DType::f32, 14);
  Tensor out = empty({12, 20});
  kernels::add_scaled_out(a, b, -0.3, out);
  Tensor out_gpu = empty({12, 20}, kGpu);
  kernels::add_scaled_out(gpu(a), gpu(b), -0.3, out_gpu);
  expect_matches_cpu(out_gpu, out);

  // Integers from a small range, so that every comparison meets ties.
  for (DType t : {DType::f32, DType::i64}) {
    const Tensor x = ints(-3, 3, {12, 20}, t, 15), y = ints(-3, 3, {20}, t, 16);
    for (CompareOp op : kCompareOps)
      expect_matches_cpu(kernels::compare(op, gpu(x), gpu(y)), kernels::compare(op, x, y));
  }

  Tensor with_nan = testing::random({5, 8}, DType::f32, 17);
  with_nan.data_ptr<float>()[3] = std::numeric_limits<float>::quiet_NaN();
  for (const auto& [lo, hi] : std::vector<std::pair<std::optional<double>, std::optional<double>>>{
           {-0.5, 0.5}, {-0.25, std::nullopt}, {std::nullopt, 0.1}}) {
    expect_matches_cpu(kernels::clamp(gpu(with_nan), lo, hi), kernels::clamp(with_nan, lo, hi));
  }

  const Tensor condition = kernels::compare(CompareOp::gt, a, 0.0);
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i64}) {
    SCOPED_TRACE(dtype_name(t));
    const Tensor x = a.to(t), y = b.to(t);
    expect_matches_cpu(kernels::where(gpu(condition), gpu(x), gpu(y)), kernels::where(condition, x, y));
  }

  const Tensor keep = kernels::compare(CompareOp::gt, testing::random({12, 20}, DType::f32, 18), -0.5);
  expect_matches_cpu(kernels::masked_scale(gpu(a), gpu(keep), 1.25), kernels::masked_scale(a, keep, 1.25));
}

TEST(CudaElementwise, InPlaceAndMixedDevices) {
  QN_REQUIRE_CUDA();
  const Tensor x = testing::random({4, 6}, DType::f32, 19);
  Tensor on_gpu = gpu(x);
  kernels::unary_out(UnaryOp::tanh, on_gpu, on_gpu);
  expect_matches_cpu(on_gpu, kernels::unary(UnaryOp::tanh, x));
  EXPECT_QN_ERROR(kernels::binary(BinaryOp::add, gpu(x), x), "expected all tensors on one device", "cuda:0", "cpu");
}

}  // namespace
}  // namespace qn
