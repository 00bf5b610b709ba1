// Device rules every kernel entry applies: all tensors on one device, and a kernel for that device.
#pragma once

#include <initializer_list>
#include <string>

#include "core/tensor.h"

namespace qn::kernels {

// Throws unless every defined tensor is on the same device as the first; returns that device.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors);

// Throws unless every defined tensor is on one device whose kernels are the CPU's (the CPU, or the simulated
// device): for entry points that only have CPU kernels.
void require_cpu_kernels(const char* op, std::initializer_list<const Tensor*> tensors);

// Throws unless a and b have the same dtype.
void require_same_dtype(const char* op, const Tensor& a, const Tensor& b);

}  // namespace qn::kernels
