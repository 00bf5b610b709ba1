#include "core/cuda_memory.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"

#if defined(QN_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace qn::cuda {
namespace {

constexpr const char* kOp = "cuda";

}  // namespace

#if defined(QN_WITH_CUDA)
namespace {

void check(cudaError_t status, const char* call) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear it, so that the next call does not report it again
  throw_error(kOp, detail::concat(call, " failed: ", cudaGetErrorString(status)));
}

class DeviceMemory final : public RawMemory {
 public:
  explicit DeviceMemory(int device) : device_(device) {}
  void* allocate(size_t nbytes) override {
    DeviceGuard guard(device_);
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, nbytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    check(status, "cudaMalloc");
    return ptr;
  }
  // Not checked: it runs from destructors, and a failure here leaves nothing for the caller to do.
  void free(void* ptr, size_t) override {
    int previous = 0;
    cudaGetDevice(&previous);
    cudaSetDevice(device_);
    cudaFree(ptr);
    cudaSetDevice(previous);
  }

 private:
  int device_;
};

struct DeviceState {
  cudaStream_t stream = nullptr;
  std::unique_ptr<CachingAllocator> allocator;
};

// Why no device can be used, or empty when one can.
const std::string& unavailable_reason() {
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();
      return std::string(cudaGetErrorString(status));
    }
    return count == 0 ? std::string("no CUDA device is present") : std::string();
  }();
  return reason;
}

// Each device's stream and allocator, made on first use and never destroyed: tensors may outlive static
// destruction, and the CUDA runtime may be unloaded by then.
DeviceState& state(int device) {
  require_device(device);
  static std::mutex mutex;
  static auto* states = new std::vector<std::unique_ptr<DeviceState>>(static_cast<size_t>(device_count()));
  std::lock_guard lock(mutex);
  std::unique_ptr<DeviceState>& s = (*states)[static_cast<size_t>(device)];
  if (!s) {
    auto fresh = std::make_unique<DeviceState>();
    DeviceGuard guard(device);
    check(cudaStreamCreateWithFlags(&fresh->stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    fresh->allocator =
        std::make_unique<CachingAllocator>(std::make_unique<DeviceMemory>(device), detail::concat("cuda:", device));
    s = std::move(fresh);
  }
  return *s;
}

}  // namespace

DeviceGuard::DeviceGuard(int device) {
  check(cudaGetDevice(&previous_), "cudaGetDevice");
  if (previous_ != device) check(cudaSetDevice(device), "cudaSetDevice");
}

DeviceGuard::~DeviceGuard() { cudaSetDevice(previous_); }

int device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      n = 0;
    }
    return n;
  }();
  return count;
}

bool available() { return device_count() > 0; }

void require_device(int device) {
  QN_CHECK(available(), kOp, "cannot use cuda:", device, ": ", unavailable_reason());
  QN_CHECK(device >= 0 && device < device_count(), kOp, "no device cuda:", device, " (", device_count(), " visible)");
}

void* allocate(size_t nbytes, int device) { return state(device).allocator->allocate(nbytes); }
void free(void* ptr, size_t nbytes, int device) { state(device).allocator->free(ptr, nbytes); }
CachingAllocatorStats memory_stats(int device) { return state(device).allocator->stats(); }
void reset_peak_memory(int device) { state(device).allocator->reset_peak(); }

void release_cached_memory(int device) {
  DeviceState& s = state(device);
  synchronize(device);  // a cached block may still be read by queued work
  s.allocator->release_cache();
}

void* stream(int device) {
  DeviceState& s = state(device);
  // A kernel launches on the calling thread's current device: it must be the stream's (a rank's cuda:1, or any
  // thread that has not chosen one).
  int current = 0;
  check(cudaGetDevice(&current), "cudaGetDevice");
  if (current != device) check(cudaSetDevice(device), "cudaSetDevice");
  return s.stream;
}

void synchronize(int device) { check(cudaStreamSynchronize(state(device).stream), "cudaStreamSynchronize"); }

void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceState& s = state(device);
  DeviceGuard guard(device);
  // From pageable memory (every host tensor's) the driver copies src into a staging buffer before returning, so the
  // caller may free or reuse it at once; the transfer itself is queued behind the stream's work, and waiting for
  // it would make every batch, index tensor and mask a synchronization. (A pinned source would be read later: it
  // must outlive the copy.)
  check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, s.stream), "cudaMemcpyAsync (host to device)");
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceState& s = state(device);
  DeviceGuard guard(device);
  check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, s.stream), "cudaMemcpyAsync (device to host)");
  check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize");
}

void* allocate_pinned(size_t nbytes) {
  QN_CHECK(available(), kOp, "cannot allocate pinned memory: ", unavailable_reason());
  void* ptr = nullptr;
  const cudaError_t status = cudaHostAlloc(&ptr, nbytes, cudaHostAllocDefault);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw_error(kOp, detail::concat("out of pinned host memory: asked for ", nbytes, " bytes"));
  }
  check(status, "cudaHostAlloc");
  return ptr;
}

void free_pinned(void* ptr) {
  if (ptr != nullptr) cudaFreeHost(ptr);
}

#else  // a build without CUDA

namespace {

constexpr const char* kNoCuda = "this build has no CUDA backend (configure with QN_CUDA=ON)";
[[noreturn]] void no_cuda() { throw_error(kOp, kNoCuda); }
[[noreturn]] void cannot_use(int device) {
  throw_error(kOp, detail::concat("cannot use cuda:", device, ": ", kNoCuda));
}

}  // namespace

DeviceGuard::DeviceGuard(int device) { cannot_use(device); }
DeviceGuard::~DeviceGuard() = default;
int device_count() { return 0; }
bool available() { return false; }
void require_device(int device) { cannot_use(device); }
void* allocate(size_t, int device) { cannot_use(device); }
void free(void*, size_t, int) { no_cuda(); }
CachingAllocatorStats memory_stats(int) { no_cuda(); }
void reset_peak_memory(int) { no_cuda(); }
void release_cached_memory(int) { no_cuda(); }
void* stream(int) { no_cuda(); }
void synchronize(int) { no_cuda(); }
void copy_host_to_device(void*, const void*, size_t, int) { no_cuda(); }
void copy_device_to_host(void*, const void*, size_t, int) { no_cuda(); }
void copy(const Tensor&, const Tensor&) { no_cuda(); }
void uniform_fill(uint64_t, uint64_t, bool, double, double, const Tensor&) { no_cuda(); }
void keep_mask_fill(uint64_t, uint64_t, bool, double, const Tensor&) { no_cuda(); }
void fill(const Tensor&, double) { no_cuda(); }
void* allocate_pinned(size_t) { no_cuda(); }
void free_pinned(void*) { no_cuda(); }

#endif

}  // namespace qn::cuda
