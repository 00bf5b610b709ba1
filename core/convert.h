// Internal to core: converting one element between any two dtypes, and making a tensor whose element i is
// a function of i. 16-bit floats convert through float.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/parallel.h"
#include "core/tensor.h"

namespace qn::detail {

template <class T>
inline constexpr bool is_half_float = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <class To, class From>
To convert(From value) {
  if constexpr (std::is_same_v<To, From>) {
    return value;
  } else if constexpr (is_half_float<From>) {
    return convert<To>(static_cast<float>(value));
  } else if constexpr (is_half_float<To>) {
    return To(static_cast<float>(value));
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    // A float outside the integer's range converts with undefined behaviour in C++ (UBSan found -3 -> u8). As x86
    // converts, and as PyTorch converts to u8: through int64, wrapping (-3 -> 253); NaN and values beyond int64
    // give int64's minimum.
    constexpr From kTwo63 = From(9223372036854775808.0);
    const bool fits = value >= -kTwo63 && value < kTwo63;
    return static_cast<To>(fits ? static_cast<int64_t>(value) : std::numeric_limits<int64_t>::min());
  } else {
    return static_cast<To>(value);
  }
}

// A fresh contiguous tensor with element i (row-major) = value_at(i), a double, filled in parallel (on the host,
// then copied to a device).
template <class ValueAt>
Tensor tensor_from_index(const Shape& shape, TensorOptions options, const ValueAt& value_at) {
  if (options.device.is_accelerator()) return tensor_from_index(shape, options.dtype, value_at).to(options.device);
  Tensor out = empty(shape, options);
  visit_dtype(options.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* data = out.data_ptr<T>();
    parallel_for(0, out.numel(), int64_t{1} << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) data[i] = convert<T>(value_at(i));
    });
  });
  return out;
}

}  // namespace qn::detail
