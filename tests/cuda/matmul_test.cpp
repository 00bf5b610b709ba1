// cuBLAS matmul against the CPU's OpenBLAS on the same operands: plain, transposed and strided views, batches
// that broadcast, 1-D operands, empty inner dimension; f32 within 1e-5 relative (the summation orders differ),
// f64 within 1e-12, TF32 within 1e-2. Label `cuda`: skipped where no GPU is visible.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

void expect_close(const Tensor& gpu_result, const Tensor& cpu_result, double rtol) {
  ASSERT_TRUE(gpu_result.device().is_cuda());
  const Tensor got = gpu_result.to(Device::cpu());
  // atol scales with the products' size: entries of a sum of K unit-variance terms are about sqrt(K) in magnitude.
  testing::expect_all_close(
      got, cpu_result.shape(), [&](const auto& idx) { return at(cpu_result, idx); }, rtol, rtol * 10);
}

struct Case {
  const char* name;
  Tensor a, b;
};

std::vector<Case> cases(DType t) {
  using testing::random;
  return {
      {"plain", random({37, 53}, t, 1), random({53, 29}, t, 2)},
      {"transposed a", random({53, 37}, t, 3).t(), random({53, 29}, t, 4)},
      {"transposed b", random({37, 53}, t, 5), random({29, 53}, t, 6).t()},
      {"both transposed", random({53, 37}, t, 7).t(), random({29, 53}, t, 8).t()},
      {"strided rows", random({37, 106}, t, 9).slice(1, 0, 106, 2), random({53, 29}, t, 10)},
      {"batched", random({4, 9, 16}, t, 11), random({4, 16, 7}, t, 12)},
      {"b shared by the batch", random({4, 9, 16}, t, 13), random({16, 7}, t, 14)},
      {"a shared by the batch", random({9, 16}, t, 15), random({4, 16, 7}, t, 16)},
      {"broadcast batch dims", random({3, 1, 9, 16}, t, 17), random({4, 16, 7}, t, 18)},
      {"permuted batch", random({9, 4, 16}, t, 19).transpose(0, 1), random({4, 16, 7}, t, 20)},
      {"vector @ matrix", random({16}, t, 21), random({16, 7}, t, 22)},
      {"matrix @ vector", random({9, 16}, t, 23), random({16}, t, 24)},
      {"dot", random({16}, t, 25), random({16}, t, 26)},
      {"empty inner dim", random({5, 0}, t, 27), random({0, 6}, t, 28)},
  };
}

TEST(CudaMatmul, MatchesTheCpuInEveryLayout) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    for (const Case& c : cases(t)) {
      SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(t)));
      expect_close(kernels::matmul(c.a.to(Device::cuda(0)), c.b.to(Device::cuda(0))), kernels::matmul(c.a, c.b),
                   t == DType::f64 ? 1e-12 : 1e-5);
    }
  }
}

// bf16 and f16 operands go to cuBLAS as they are (f32 accumulation, one rounding); the CPU widens them to f32 and
// rounds the product once: the two differ by the summation order only, within a unit of the 16-bit type's last place
// (2^-8 for bf16, 2^-11 for f16, relative).
TEST(CudaMatmul, SixteenBitOperandsMatchTheCpu) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::bf16, DType::f16}) {
    for (const Case& c : cases(DType::f32)) {
      SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(t)));
      const Tensor a = c.a.to(t), b = c.b.to(t);
      const Tensor gpu = kernels::matmul(a.to(Device::cuda(0)), b.to(Device::cuda(0)));
      EXPECT_EQ(gpu.dtype(), t);
      expect_close(gpu, kernels::matmul(a, b), t == DType::bf16 ? 8e-3 : 1e-3);
    }
  }
}

TEST(CudaMatmul, Tf32IsOptInAndClose) {
  QN_REQUIRE_CUDA();
  ASSERT_FALSE(kernels::allow_tf32());  // PyTorch's default
  const Tensor a = testing::random({64, 256}, DType::f32, 30), b = testing::random({256, 48}, DType::f32, 31);
  kernels::set_allow_tf32(true);
  const Tensor tf32 = kernels::matmul(a.to(Device::cuda(0)), b.to(Device::cuda(0)));
  kernels::set_allow_tf32(false);
  expect_close(tf32, kernels::matmul(a, b), 1e-2);
}

}  // namespace
}  // namespace qn
