#include "core/storage.h"

#include "core/allocator.h"
#include "core/cuda_memory.h"
#include "core/error.h"

namespace qn {

Storage Storage::allocate(size_t nbytes, Device device) {
  Storage storage;
  storage.impl_ = std::make_shared<Impl>();
  storage.impl_->data = device.is_cpu() ? host_allocate(nbytes) : cuda::allocate(nbytes, device.index);
  storage.impl_->nbytes = nbytes;
  storage.impl_->device = device;
  return storage;
}

Storage::Impl::~Impl() {
  if (device.is_cpu()) {
    host_free(data, nbytes);
  } else {
    cuda::free(data, nbytes, device.index);
  }
}

}  // namespace qn
