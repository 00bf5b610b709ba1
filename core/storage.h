// Storage: one block of device memory, shared by every tensor that views it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace qn {

class Storage {
 public:
  Storage() = default;
  // Fresh, uninitialised memory of nbytes on device.
  static Storage allocate(size_t nbytes, Device device);

  void* data() const { return impl_ ? impl_->data : nullptr; }
  size_t nbytes() const { return impl_ ? impl_->nbytes : 0; }
  Device device() const { return impl_ ? impl_->device : Device::cpu(); }
  bool defined() const { return impl_ != nullptr; }
  bool same_as(const Storage& other) const { return impl_ == other.impl_; }
  long use_count() const { return impl_.use_count(); }

  // Counts in-place writes to this memory. Every view shares it, so autograd can tell that a tensor
  // saved for backward was modified afterwards, through whichever view.
  uint64_t version() const { return impl_ ? impl_->version.load(std::memory_order_relaxed) : 0; }
  void bump_version() const {
    if (impl_) impl_->version.fetch_add(1, std::memory_order_relaxed);
  }

  // Device memory filled by a copy from host memory may keep that host memory as its mirror: the same bytes in the
  // same layout, which host code can read instead of waiting for the device (token ids and labels: a batch is
  // made on the host, and the model reads which rows are padding or which band a target falls in). The mirror
  // holds while neither memory has been written since; host_mirror() is undefined otherwise.
  void set_host_mirror(const Storage& host) const;
  Storage host_mirror() const;

 private:
  struct Impl {
    void* data = nullptr;
    size_t nbytes = 0;
    Device device;
    std::atomic<uint64_t> version{0};
    std::shared_ptr<Impl> mirror;  // host memory with the same bytes, as of the two versions below
    uint64_t mirror_version = 0, own_version = 0;
    ~Impl();
  };
  std::shared_ptr<Impl> impl_;
};

}  // namespace qn
