// Memory of CUDA devices: each device's caching allocator (core/caching_allocator.h) and the one stream all its
// work runs on, copies between host and device memory, and pinned host memory for data loaders (a copy from
// pinned memory runs asynchronously; from pageable memory the driver stages it first).
//
// A build without CUDA (QN_CUDA=OFF) has the same functions: available() is false and the others throw a
// qn::Error saying the build has no CUDA backend.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/caching_allocator.h"

namespace qn {
class Tensor;
}

namespace qn::cuda {

// Compiled with CUDA and at least one GPU visible.
bool available();
int device_count();
// Throws, naming the reason (no CUDA in this build, no driver, no such device), unless device can be used.
void require_device(int device);

// Device memory through the device's caching allocator.
void* allocate(size_t nbytes, int device);
void free(void* ptr, size_t nbytes, int device);
CachingAllocatorStats memory_stats(int device);
void reset_peak_memory(int device);
// Gives the device's cached blocks back to the driver (PyTorch's torch.cuda.empty_cache).
void release_cached_memory(int device);

// Makes device current for the calling thread while in scope: CUDA libraries (cuBLAS, cuDNN) act on the current
// device.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  [[maybe_unused]] int previous_ = 0;  // used by CUDA builds only
};

// The device's stream (a cudaStream_t): every kernel and copy for its tensors is ordered on it. Asking for it makes
// `device` the calling thread's current device, which a launch on the stream needs.
void* stream(int device);
// Waits until all work queued on the device's stream has finished.
void synchronize(int device);

// Copies of nbytes between host and device memory, ordered on the device's stream after the work queued
// before them. A copy to the host returns when it has finished (it waits for that work: a synchronization); a
// copy to the device returns once src has been taken (staged from pageable memory), without waiting.
void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device);

// Within one device: dst (any layout) = src broadcast to dst's shape and converted to dst's dtype; and a fill.
// Tensor::copy_ and fill_ run these for CUDA tensors (core/cuda_copy.cu).
void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);

// Philox draws filled on the device (core/cuda_random.cu), element for element the host's (core/generator.cpp):
// out (contiguous) = low + (high - low) u for the stream (seed, first block), wide: 53-bit draws 2 per block, else
// 24-bit draws 4 per block; the keep mask (u8) = u >= threshold.
void uniform_fill(uint64_t seed, uint64_t first, bool wide, double low, double high, const Tensor& out);
void keep_mask_fill(uint64_t seed, uint64_t first, bool wide, double threshold, const Tensor& out);

// Page-locked host memory, which the GPU reads directly (data loaders' batches).
void* allocate_pinned(size_t nbytes);
void free_pinned(void* ptr);

}  // namespace qn::cuda
