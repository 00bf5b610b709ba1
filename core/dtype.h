// Element types. f32 trains, f64 checks gradients, f16/bf16 are for GPUs and compact files,
// i64/i32 index, u8/i8 hold images and quantized codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string_view>
#include <type_traits>

#include "core/error.h"
#include "core/half.h"

namespace qn {

enum class DType : uint8_t { f32, f64, f16, bf16, i64, i32, u8, i8 };

inline constexpr DType kAllDTypes[] = {DType::f32, DType::f64, DType::f16, DType::bf16,
                                       DType::i64, DType::i32, DType::u8,  DType::i8};

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64:
    case DType::i64:
      return 8;
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::f16:
    case DType::bf16:
      return 2;
    case DType::u8:
    case DType::i8:
      return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f64:
      return "f64";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
    case DType::i64:
      return "i64";
    case DType::i32:
      return "i32";
    case DType::u8:
      return "u8";
    case DType::i8:
      return "i8";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name);

constexpr bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

inline std::ostream& operator<<(std::ostream& out, DType t) { return out << dtype_name(t); }

// C++ type <-> DType.
template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct DTypeOf<Half> {
  static constexpr DType value = DType::f16;
};
template <>
struct DTypeOf<BFloat16> {
  static constexpr DType value = DType::bf16;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::i64;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::i32;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::u8;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::i8;
};
template <class T>
inline constexpr DType dtype_of = DTypeOf<T>::value;

template <class T>
struct TypeTag {
  using type = T;
};

// visit_dtype(t, [&](auto tag) { using T = typename decltype(tag)::type; ... }) runs the lambda
// with T the C++ type of t. The narrower visitors name the op that refused the dtype.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f32:
      return f(TypeTag<float>{});
    case DType::f64:
      return f(TypeTag<double>{});
    case DType::f16:
      return f(TypeTag<Half>{});
    case DType::bf16:
      return f(TypeTag<BFloat16>{});
    case DType::i64:
      return f(TypeTag<int64_t>{});
    case DType::i32:
      return f(TypeTag<int32_t>{});
    case DType::u8:
      return f(TypeTag<uint8_t>{});
    case DType::i8:
      return f(TypeTag<int8_t>{});
  }
  throw_error("visit_dtype", "corrupt dtype value");
}

// f32 and f64: the types the CPU kernels compute in.
template <class F>
decltype(auto) visit_floating(DType t, std::string_view op, F&& f) {
  if (t == DType::f32) return f(TypeTag<float>{});
  if (t == DType::f64) return f(TypeTag<double>{});
  throw_error(op, detail::concat("expected a f32 or f64 tensor, got ", dtype_name(t)));
}

// f32, f64 and the integer types: everything but the 16-bit storage floats.
template <class F>
decltype(auto) visit_arithmetic(DType t, std::string_view op, F&& f) {
  switch (t) {
    case DType::f32:
      return f(TypeTag<float>{});
    case DType::f64:
      return f(TypeTag<double>{});
    case DType::i64:
      return f(TypeTag<int64_t>{});
    case DType::i32:
      return f(TypeTag<int32_t>{});
    case DType::u8:
      return f(TypeTag<uint8_t>{});
    case DType::i8:
      return f(TypeTag<int8_t>{});
    default:
      break;
  }
  throw_error(op, detail::concat("expected a f32, f64 or integer tensor, got ", dtype_name(t),
                                 " (convert 16-bit floats with .to(DType::f32) first)"));
}

// Index tensors: i64 or i32.
template <class F>
decltype(auto) visit_index(DType t, std::string_view op, F&& f) {
  if (t == DType::i64) return f(TypeTag<int64_t>{});
  if (t == DType::i32) return f(TypeTag<int32_t>{});
  throw_error(op, detail::concat("expected an i64 or i32 index tensor, got ", dtype_name(t)));
}

}  // namespace qn
