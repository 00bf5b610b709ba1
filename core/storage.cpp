#include "core/storage.h"

#include "core/allocator.h"
#include "core/error.h"

namespace qn {

Storage Storage::allocate(size_t nbytes, Device device) {
  QN_CHECK(device.is_cpu(), "Storage::allocate", "cannot allocate on ", device,
           ": this build's tensors live on the CPU (the CUDA allocator comes with the CUDA backend)");
  Storage storage;
  storage.impl_ = std::make_shared<Impl>();
  storage.impl_->data = host_allocate(nbytes);
  storage.impl_->nbytes = nbytes;
  storage.impl_->device = device;
  return storage;
}

Storage::Impl::~Impl() {
  if (device.is_cpu()) host_free(data, nbytes);
}

}  // namespace qn
