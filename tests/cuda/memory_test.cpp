// CUDA memory: tensors to a GPU and back in every dtype and layout, and a repeated step that the caching
// allocator serves without asking the driver again. Label `cuda`: skipped where no GPU is visible.
#include <gtest/gtest.h>

#include "core/cuda_memory.h"
#include "core/tensor.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

// got (any device) holds want's values, element by element.
void expect_same_values(const Tensor& got, const Tensor& want) {
  const Tensor host = got.to(Device::cpu());
  ASSERT_EQ(host.shape(), want.shape());
  ASSERT_EQ(host.dtype(), want.dtype());
  for (const auto& idx : testing::all_indices(want.shape())) ASSERT_EQ(at(host, idx), at(want, idx));
}

TEST(CudaMemory, RoundTripsEveryDtypeAndLayout) {
  QN_REQUIRE_CUDA();
  for (DType t : kAllDTypes) {
    SCOPED_TRACE(dtype_name(t));
    const Tensor base = arange(0, 24, 1, DType::f64).view({2, 3, 4}).to(t);
    for (const Tensor& x : {base, base.transpose(0, 2), base.slice(1, 1, 3), base.unsqueeze(1).expand({2, 5, 3, 4}),
                            base.slice(2, 0, 4, 2)}) {
      const Tensor on_gpu = x.to(Device::cuda(0));
      EXPECT_EQ(on_gpu.device(), Device::cuda(0));
      EXPECT_TRUE(on_gpu.is_contiguous());
      EXPECT_TRUE(on_gpu.to(Device::cuda(0)).is_same(on_gpu));
      const Tensor back = on_gpu.to(Device::cpu());
      ASSERT_EQ(back.shape(), x.shape());
      for (const auto& idx : testing::all_indices(x.shape())) ASSERT_EQ(at(back, idx), at(x, idx));
    }
  }
}

TEST(CudaMemory, StridedDeviceViewsCopyBack) {
  QN_REQUIRE_CUDA();
  const Tensor x = arange(0, 60, 1).view({3, 4, 5});
  const Tensor on_gpu = x.to(Device::cuda(0));
  const Tensor view = on_gpu.permute({2, 0, 1}).slice(0, 1, 4);  // a strided view of device memory
  const Tensor back = view.to(Device::cpu());
  const Tensor expected = x.permute({2, 0, 1}).slice(0, 1, 4);
  for (const auto& idx : testing::all_indices(expected.shape())) ASSERT_EQ(at(back, idx), at(expected, idx));
  EXPECT_QN_ERROR((void)on_gpu.data_ptr<float>(), "in a device's memory");
}

// Tensor::copy_, fill_, contiguous() and to(dtype) run core/cuda_copy.cu's kernels on the device.
TEST(CudaMemory, CopiesConversionsAndFillsOnTheDevice) {
  QN_REQUIRE_CUDA();
  const Tensor x = arange(-9, 9, 0.75).view({2, 3, 4});
  const Tensor g = x.to(Device::cuda(0));
  expect_same_values(g.transpose(0, 2).contiguous(), x.transpose(0, 2).contiguous());
  for (DType t : kAllDTypes) {
    SCOPED_TRACE(dtype_name(t));
    expect_same_values(g.to(t), x.to(t));                                // f32 -> t on the device
    expect_same_values(g.to(t).to(DType::f64), x.to(t).to(DType::f64));  // and back up, through t
  }
  Tensor dst = zeros({5, 2, 3, 4}, Device::cuda(0));
  dst.copy_(x);                 // from the host, broadcast over the first dim
  dst.slice(0, 1, 3).fill_(7);  // a strided fill
  dst.select(0, 4).copy_(g.transpose(1, 2).contiguous().transpose(1, 2));  // device to device, strided source
  Tensor want = zeros({5, 2, 3, 4});
  want.copy_(x);
  want.slice(0, 1, 3).fill_(7);
  expect_same_values(dst, want);
  Tensor back = zeros({2, 3, 4}, DType::f64);
  back.copy_(g);  // device to host, converted
  expect_same_values(back, x.to(DType::f64));
}

TEST(CudaMemory, ARepeatedStepAllocatesOnce) {
  QN_REQUIRE_CUDA();
  auto step = [] {
    std::vector<Tensor> activations;
    for (int64_t n : {1000, 65536, 1 << 20, 3 << 20, 17}) activations.push_back(empty({n}, Device::cuda(0)));
  };
  step();
  const int64_t raw = cuda::memory_stats(0).raw_allocations;
  for (int i = 0; i < 10; ++i) step();
  EXPECT_EQ(cuda::memory_stats(0).raw_allocations, raw);
  EXPECT_EQ(cuda::memory_stats(0).live_bytes, 0);
  EXPECT_GT(cuda::memory_stats(0).cached_bytes, 0);
  cuda::release_cached_memory(0);
  EXPECT_EQ(cuda::memory_stats(0).cached_bytes, 0);
}

TEST(CudaMemory, PinnedHostMemoryRoundTrips) {
  QN_REQUIRE_CUDA();
  auto* pinned = static_cast<float*>(cuda::allocate_pinned(1024 * sizeof(float)));
  for (int i = 0; i < 1024; ++i) pinned[i] = static_cast<float>(i) * 0.5f;
  void* device = cuda::allocate(1024 * sizeof(float), 0);
  cuda::copy_host_to_device(device, pinned, 1024 * sizeof(float), 0);
  std::vector<float> back(1024);
  cuda::copy_device_to_host(back.data(), device, 1024 * sizeof(float), 0);
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(back[i], pinned[i]);
  cuda::free(device, 1024 * sizeof(float), 0);
  cuda::free_pinned(pinned);
}

TEST(CudaMemory, AMissingDeviceIsNamed) {
  QN_REQUIRE_CUDA();
  EXPECT_QN_ERROR(zeros({2}).to(Device::cuda(cuda::device_count())), "no device cuda:");
}

}  // namespace
}  // namespace qn
