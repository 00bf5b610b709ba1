// Reducing one value per thread across a thread block: warp shuffles within each warp, then the warps' results
// through shared memory. Used by the row-wise kernels (reductions, softmax, LayerNorm, losses).
#pragma once

#include <cuda_runtime.h>

#include <limits>

namespace qn::kernels::cuda {

template <class T>
struct SumOp {
  using A = T;
  __device__ static T identity() { return T(0); }
  __device__ static T combine(T a, T b) { return a + b; }
};

// Every thread of the block gets op's combination of the block's values. blockDim.x must be a multiple of 32, at
// most 1024, and every thread must call it.
template <class Op, class A>
__device__ A block_all(A value) {
  __shared__ A partial[32];
  __shared__ A result;
  for (int offset = 16; offset > 0; offset /= 2)
    value = Op::combine(value, __shfl_down_sync(0xffffffffu, value, offset));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : Op::identity();
    for (int offset = 16; offset > 0; offset /= 2) {
      value = Op::combine(value, __shfl_down_sync(0xffffffffu, value, offset));
    }
    if (lane == 0) result = value;
  }
  __syncthreads();
  return result;
}

}  // namespace qn::kernels::cuda
