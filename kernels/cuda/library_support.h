// What the GPU library wrappers (cuBLAS in matmul.cpp, cuDNN in conv.cpp) share: one handle per device made on
// first use and kept for the process, and the alpha/beta scalars the libraries blend with.
#pragma once

#include <map>
#include <mutex>

#include "core/cuda_memory.h"
#include "core/dtype.h"

namespace qn::kernels::cuda {

// The handle for device, made by create() (with device current) the first time; each call site keeps its own
// handles, since every create lambda is its own type.
template <class Handle, class Create>
Handle per_device_handle(int device, const Create& create) {
  static std::mutex mutex;
  static auto* handles = new std::map<int, Handle>();  // never destroyed: the runtime may be gone at exit
  std::lock_guard lock(mutex);
  if (const auto found = handles->find(device); found != handles->end()) return found->second;
  ::qn::cuda::DeviceGuard guard(device);
  const Handle h = create();
  handles->emplace(device, h);
  return h;
}

// out = one * op(...) + zero * out, the scalars in the computation's precision: double for f64 data, else float.
class BlendScalars {
 public:
  explicit BlendScalars(DType data) : f64_(data == DType::f64) {}
  const void* one() const { return f64_ ? static_cast<const void*>(&one64_) : &one32_; }
  const void* zero() const { return f64_ ? static_cast<const void*>(&zero64_) : &zero32_; }

 private:
  bool f64_;
  double one64_ = 1, zero64_ = 0;
  float one32_ = 1, zero32_ = 0;
};

}  // namespace qn::kernels::cuda
