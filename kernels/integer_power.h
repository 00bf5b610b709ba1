// Integer power by squaring, as PyTorch computes pow on integers: a negative exponent gives 0, except for the bases
// 1 and -1. Shared by the CPU and CUDA elementwise kernels.
#pragma once

#include <type_traits>

#include "core/philox.h"  // QN_HOST_DEVICE

namespace qn::kernels {

template <class T>
QN_HOST_DEVICE T integer_power(T base, T exponent) {
  static_assert(std::is_integral_v<T>);
  if constexpr (std::is_signed_v<T>) {
    if (exponent < 0) return base == 1 ? T(1) : (base == T(-1) ? (exponent % 2 ? T(-1) : T(1)) : T(0));
  }
  T result = 1;
  for (T e = exponent; e > 0; e >>= 1, base *= base) {
    if (e & 1) result *= base;
  }
  return result;
}

}  // namespace qn::kernels
