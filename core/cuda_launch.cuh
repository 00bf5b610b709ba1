// What every CUDA kernel file shares (core's copies and kernels/cuda): status checks that name the op, the stream
// of a tensor's device, grid sizes for grid-stride loops, and the element offsets of broadcast, strided operands.
// Included by .cu files only.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "core/strided_loop.h"
#include "core/tensor.h"

namespace qn::cuda {

// Throws qn::Error naming op and the CUDA error.
inline void check(cudaError_t status, const char* op) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear it, so that later calls do not report it again
  throw_error(op, detail::concat("CUDA error: ", cudaGetErrorString(status)));
}

// A launch's own errors (bad configuration, no kernel image for this GPU); faults inside the kernel surface at
// the next synchronizing call.
inline void check_launch(const char* op) { check(cudaGetLastError(), op); }

inline cudaStream_t stream_of(const Tensor& t) { return static_cast<cudaStream_t>(stream(t.device().index)); }

constexpr int kBlock = 256;

// Blocks for a grid-stride loop over n items: one item per thread up to a grid that fills any current GPU many
// times over; past that, each thread takes several.
inline unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kBlock - 1) / kBlock, 1, int64_t{1} << 16));
}

#define QN_GRID_STRIDE_LOOP(i, n)                                                        \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// The element offsets of N operands at each row-major index of an output shape. Operand 0 is the output, the
// others are broadcast to its shape (stride 0 along broadcast dims). Dims every operand walks as one are merged
// on the host, so all-contiguous operands index directly.
template <int N>
struct Offsets {
  int dims = 0;
  bool linear = false;  // one dim, unit stride in every operand: offset = index
  int64_t sizes[Shape::kMaxDims] = {};
  int64_t strides[N][Shape::kMaxDims] = {};

  __device__ void at(int64_t index, int64_t (&offset)[N]) const {
    if (linear) {
      for (int k = 0; k < N; ++k) offset[k] = index;
      return;
    }
    for (int k = 0; k < N; ++k) offset[k] = 0;
    for (int d = dims - 1; d >= 0; --d) {
      const int64_t i = index % sizes[d];
      index /= sizes[d];
      for (int k = 0; k < N; ++k) offset[k] += i * strides[k][d];
    }
  }
};

template <int N>
Offsets<N> make_offsets(const std::array<const Tensor*, N>& operands) {
  Shape shape = operands[0]->shape();
  std::array<Strides, N> strides;
  for (int k = 0; k < N; ++k) strides[k] = broadcast_strides(operands[k]->shape(), operands[k]->strides(), shape);
  coalesce_dims<N>(shape, strides);
  Offsets<N> o;
  o.dims = shape.size();
  o.linear = o.dims == 1;
  for (int d = 0; d < o.dims; ++d) {
    o.sizes[d] = shape[d];
    for (int k = 0; k < N; ++k) {
      o.strides[k][d] = strides[k][d];
      o.linear = o.linear && strides[k][d] == 1;
    }
  }
  return o;
}

template <class T>
T* device_ptr(const Tensor& t) {
  return static_cast<T*>(t.device_data());
}

// visit_dtype for device code: the 16-bit floats as CUDA's __half and __nv_bfloat16, which device code can convert.
template <class F>
decltype(auto) visit_device_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f16:
      return f(TypeTag<__half>{});
    case DType::bf16:
      return f(TypeTag<__nv_bfloat16>{});
    default:
      return visit_dtype(t, [&](auto tag) -> decltype(auto) {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
          return f(TypeTag<float>{});  // not reached: handled above
        } else {
          return f(tag);
        }
      });
  }
}

template <class T>
inline constexpr bool is_device_half = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

// One element from any dtype to any other, as core/convert.h does on the host: 16-bit floats through float
// (rounded to nearest even), floats to integers through int64 (wrapping, as the host and x86 do: a direct
// conversion saturates on the device, -9.0f to u8 giving 0 rather than 247), the rest by static_cast.
template <class To, class From>
__host__ __device__ To convert(From value) {
  if constexpr (std::is_same_v<To, From>) {
    return value;
  } else if constexpr (std::is_same_v<From, __half>) {
    return convert<To>(__half2float(value));
  } else if constexpr (std::is_same_v<From, __nv_bfloat16>) {
    return convert<To>(__bfloat162float(value));
  } else if constexpr (std::is_same_v<To, __half>) {
    return __float2half_rn(static_cast<float>(value));
  } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(value));
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    constexpr From kTwo63 = From(9223372036854775808.0);  // NaN and values beyond int64 give its minimum
    const bool fits = value >= -kTwo63 && value < kTwo63;
    return static_cast<To>(fits ? static_cast<int64_t>(value) : std::numeric_limits<int64_t>::min());
  } else {
    return static_cast<To>(value);
  }
}

}  // namespace qn::cuda
