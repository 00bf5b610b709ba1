#include "core/storage.h"

#include "core/allocator.h"
#include "core/cuda_memory.h"
#include "core/error.h"

namespace qn {

Storage Storage::allocate(size_t nbytes, Device device) {
  Storage storage;
  storage.impl_ = std::make_shared<Impl>();
  storage.impl_->data = device.runs_cpu_kernels() ? host_allocate(nbytes) : cuda::allocate(nbytes, device.index);
  storage.impl_->nbytes = nbytes;
  storage.impl_->device = device;
  return storage;
}

void Storage::set_host_mirror(const Storage& host) const {
  QN_CHECK(impl_ && host.impl_ && host.device().is_cpu() && !device().is_cpu() && host.nbytes() == nbytes(),
           "set_host_mirror", "expected device memory and host memory of the same size");
  impl_->mirror = host.impl_;
  impl_->mirror_version = host.version();
  impl_->own_version = version();
}

Storage Storage::host_mirror() const {
  Storage host;
  if (impl_ && impl_->mirror && impl_->own_version == version() &&
      impl_->mirror->version.load(std::memory_order_relaxed) == impl_->mirror_version) {
    host.impl_ = impl_->mirror;
  }
  return host;
}

Storage::Impl::~Impl() {
  if (device.runs_cpu_kernels()) {
    host_free(data, nbytes);
  } else {
    cuda::free(data, nbytes, device.index);
  }
}

}  // namespace qn
