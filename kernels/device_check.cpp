#include "kernels/device_check.h"

namespace qn::kernels {

Device common_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (first == nullptr) {
      first = t;
      continue;
    }
    QN_CHECK(t->device() == first->device(), op, "expected all tensors on one device, got ", first->describe(), " and ",
             t->describe());
  }
  return first ? first->device() : Device::cpu();
}

void require_cpu_kernels(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Device device = common_device(op, tensors);
  QN_CHECK(device.runs_cpu_kernels(), op, "no kernel for tensors on ", device, " (this entry has CPU kernels only)");
}

void require_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  QN_CHECK(a.dtype() == b.dtype(), op, "expected tensors of one dtype, got ", a.describe(), " and ", b.describe(),
           " (convert one with .to())");
}

}  // namespace qn::kernels
