// Philox draws on the GPU are the host's, bit for bit: dropout keep masks and uniform draws in f32 and f64 (odd
// lengths, so the last block is partly used), normal draws, integers. Label `cuda`.
#include <gtest/gtest.h>

#include "core/generator.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

void expect_identical(const Tensor& gpu, const Tensor& cpu) {
  ASSERT_TRUE(gpu.device().is_cuda());
  ASSERT_EQ(gpu.dtype(), cpu.dtype());
  testing::expect_all_close(
      gpu.to(Device::cpu()), cpu.shape(), [&](const auto& idx) { return at(cpu, idx); }, 0.0, 0.0);
}

TEST(CudaRandom, DrawsAreTheHostsBitForBit) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    for (int64_t n : {1, 7, 1001}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " n " + std::to_string(n));
      for (double p : {0.1, 0.5}) {
        Generator host(42), device(42);
        expect_identical(keep_mask({n}, TensorOptions(t, Device::cuda(0)), p, &device), keep_mask({n}, t, p, &host));
        EXPECT_EQ(host.offset(), device.offset());
      }
      Generator host(7), device(7);
      expect_identical(rand({n}, TensorOptions(t, Device::cuda(0)), &device), rand({n}, t, &host));
      expect_identical(randn({n}, TensorOptions(t, Device::cuda(0)), &device), randn({n}, t, &host));
      expect_identical(randint(-5, 9, {n}, TensorOptions(DType::i64, Device::cuda(0)), &device),
                       randint(-5, 9, {n}, DType::i64, &host));
      Tensor filled = empty({n}, TensorOptions(t, Device::cuda(0)));
      Tensor filled_host = empty({n}, t);
      uniform_(filled, -2, 3, &device);
      uniform_(filled_host, -2, 3, &host);
      expect_identical(filled, filled_host);
    }
  }
}

}  // namespace
}  // namespace qn
