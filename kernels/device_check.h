// Device rules every kernel entry applies: all tensors on one device, and a kernel for that device.
#pragma once

#include <initializer_list>
#include <string>

#include "core/tensor.h"

namespace qn::kernels {

// Throws unless every defined tensor is on the same device as the first; returns that device.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors);

// Throws unless every defined tensor is on the CPU: the kernels in this build run there.
void require_cpu(const char* op, std::initializer_list<const Tensor*> tensors);

// Throws unless a and b have the same dtype.
void require_same_dtype(const char* op, const Tensor& a, const Tensor& b);

}  // namespace qn::kernels
