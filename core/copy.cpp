// Copies between layouts and dtypes: contiguous(), clone(), to(dtype), copy_(), fill_().
#include <cstring>

#include "core/autograd_meta.h"
#include "core/convert.h"
#include "core/cuda_memory.h"
#include "core/device_reads.h"
#include "core/strided_loop.h"
#include "core/tensor.h"

namespace qn {
namespace {

constexpr int64_t kCopyGrain = 1 << 16;

// The transfers between host memory and a device's: for CUDA through its stream, for the simulated device a plain
// copy (its memory is host memory).
void copy_host_to_device(void* dst, const void* src, size_t nbytes, Device device) {
  if (device.is_cuda()) {
    cuda::copy_host_to_device(dst, src, nbytes, device.index);
  } else if (nbytes > 0) {
    std::memcpy(dst, src, nbytes);
  }
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, Device device) {
  if (device.is_cuda()) {
    cuda::copy_device_to_host(dst, src, nbytes, device.index);
  } else if (nbytes > 0) {
    std::memcpy(dst, src, nbytes);
  }
}

}  // namespace

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_");
  const Shape& shape = this->shape();
  QN_CHECK(broadcast_shapes(src.shape(), shape, "copy_") == shape, "copy_", "source ", src.describe(),
           " cannot be broadcast to destination ", describe());
  // From another device: brought to this one first, then broadcast and converted here.
  if (src.device() != device()) return copy_(src.to(device()));
  if (device().is_cuda()) {
    cuda::copy(src, *this);
    return *this;
  }
  // The CPU, or the simulated device's memory (this is its copy kernel).
  if (src.dtype() == dtype() && is_contiguous() && src.is_contiguous() && src.shape() == shape) {
    if (!is_same(src)) std::memmove(device_data(), src.device_data(), nbytes());
    return *this;
  }
  const Strides src_strides = broadcast_strides(src.shape(), src.strides(), shape);
  visit_dtype(dtype(), [&](auto dst_tag) {
    using D = typename decltype(dst_tag)::type;
    visit_dtype(src.dtype(), [&](auto src_tag) {
      using S = typename decltype(src_tag)::type;
      D* dst_data = static_cast<D*>(device_data());
      const S* src_data = static_cast<const S*>(src.device_data());
      for_each_row<2>(
          shape, {strides(), src_strides},
          [&](const RowPointers<2>& row) {
            D* d = dst_data + row.offset[0];
            const S* s = src_data + row.offset[1];
            for (int64_t i = 0; i < row.n; ++i) d[i * row.stride[0]] = detail::convert<D>(s[i * row.stride[1]]);
          },
          kCopyGrain);
    });
  });
  return *this;
}

Tensor& Tensor::fill_(double value) {
  check_inplace("fill_");
  if (device().is_cuda()) {
    cuda::fill(*this, value);
    return *this;
  }
  visit_dtype(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = detail::convert<T>(value);
    T* data = static_cast<T*>(device_data());  // the CPU's, or the simulated device's memory
    for_each_row<1>(
        shape(), {strides()},
        [&](const RowPointers<1>& row) {
          T* d = data + row.offset[0];
          for (int64_t i = 0; i < row.n; ++i) d[i * row.stride[0]] = v;
        },
        kCopyGrain);
  });
  return *this;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), options());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device target, CallSite site) const {
  if (target == device()) return *this;
  if (!device().is_cpu() && !target.is_cpu())
    return to(Device::cpu(), site).to(target);  // between devices: via the host
  Tensor out = empty(shape(), TensorOptions(dtype(), target));
  const Tensor src = contiguous();  // on its own device
  if (target.is_cpu()) {
    count_device_read(site);
    copy_device_to_host(out.raw_data(), src.device_data(), out.nbytes(), device());
  } else {
    copy_host_to_device(out.device_data(), src.raw_data(), out.nbytes(), target);
    // Integer data (ids, labels, codes) keeps its host copy as a mirror, in out's own layout.
    if (!is_floating(dtype()) && out.nbytes() > 0) {
      const bool same_layout = src.offset() == 0 && src.storage().nbytes() == out.nbytes();
      out.storage().set_host_mirror(same_layout ? src.storage() : src.clone().storage());
    }
  }
  return out;
}

Tensor Tensor::to_host(CallSite site) const {
  if (device().is_cpu()) return *this;
  if (const Storage mirror = storage().host_mirror(); mirror.defined()) {
    return Tensor(mirror, offset(), shape(), strides(), dtype());
  }
  return to(Device::cpu(), site);
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), TensorOptions(target, device()));
  out.copy_(*this);
  return out;
}

}  // namespace qn
