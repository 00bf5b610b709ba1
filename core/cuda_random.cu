// Philox draws made on the device, element for element the ones core/generator.cpp makes on the host: thread b
// computes block b of the stream and the elements it yields (4 per block for 24-bit float draws, 2 for 53-bit
// double draws), converted and compared exactly as on the host. Masks are thus bit-identical across devices.
#include "core/cuda_launch.cuh"
#include "core/cuda_memory.h"
#include "core/philox.h"

namespace qn::cuda {
namespace {

// Element k of block w as the host's UniformStream reads it: a 24-bit float or a 53-bit double, as a double.
__device__ double uniform_of(const philox::Counter& w, int k, bool wide) {
  return wide ? philox::uniform_double(w[2 * k], w[2 * k + 1]) : double{philox::uniform_float(w[k])};
}

template <class T>
__global__ void uniform_kernel(uint64_t seed, uint64_t first, bool wide, double low, double high, int64_t n, T* out) {
  const int per_block = wide ? 2 : 4;
  QN_GRID_STRIDE_LOOP(b, (n + per_block - 1) / per_block) {
    const philox::Counter w = philox::block(seed, first + static_cast<uint64_t>(b));
    for (int k = 0; k < per_block && b * per_block + k < n; ++k) {
      out[b * per_block + k] = convert<T>(fma(high - low, uniform_of(w, k, wide), low));
    }
  }
}

__global__ void keep_kernel(uint64_t seed, uint64_t first, bool wide, double threshold, int64_t n, uint8_t* out) {
  const int per_block = wide ? 2 : 4;
  QN_GRID_STRIDE_LOOP(b, (n + per_block - 1) / per_block) {
    const philox::Counter w = philox::block(seed, first + static_cast<uint64_t>(b));
    for (int k = 0; k < per_block && b * per_block + k < n; ++k) {
      out[b * per_block + k] = uniform_of(w, k, wide) >= threshold ? 1 : 0;
    }
  }
}

int64_t blocks_of(int64_t n, bool wide) { return (n + (wide ? 1 : 3)) / (wide ? 2 : 4); }

}  // namespace

void uniform_fill(uint64_t seed, uint64_t first, bool wide, double low, double high, const Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  visit_device_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    uniform_kernel<T><<<grid_for(blocks_of(n, wide)), kBlock, 0, stream_of(out)>>>(seed, first, wide, low, high, n,
                                                                                   device_ptr<T>(out));
  });
  check_launch("rand");
}

void keep_mask_fill(uint64_t seed, uint64_t first, bool wide, double threshold, const Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  keep_kernel<<<grid_for(blocks_of(n, wide)), kBlock, 0, stream_of(out)>>>(seed, first, wide, threshold, n,
                                                                           device_ptr<uint8_t>(out));
  check_launch("keep_mask");
}

}  // namespace qn::cuda
