// Copies and fills of CUDA tensors: Tensor::copy_ and fill_ on the device (core/copy.cpp dispatches here).
#include "core/cuda_launch.cuh"
#include "core/cuda_memory.h"

namespace qn::cuda {
namespace {

template <class D, class S>
__global__ void copy_kernel(int64_t n, Offsets<2> at, D* dst, const S* src) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[2];
    at.at(i, o);
    dst[o[0]] = convert<D>(src[o[1]]);
  }
}

template <class T>
__global__ void fill_kernel(int64_t n, Offsets<1> at, T* dst, T value) {
  QN_GRID_STRIDE_LOOP(i, n) {
    int64_t o[1];
    at.at(i, o);
    dst[o[0]] = value;
  }
}

}  // namespace

void copy(const Tensor& src, const Tensor& dst) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const Offsets<2> at = make_offsets<2>({&dst, &src});
  visit_device_dtype(dst.dtype(), [&](auto dst_tag) {
    using D = typename decltype(dst_tag)::type;
    visit_device_dtype(src.dtype(), [&](auto src_tag) {
      using S = typename decltype(src_tag)::type;
      copy_kernel<D, S>
          <<<grid_for(n), kBlock, 0, stream_of(dst)>>>(n, at, device_ptr<D>(dst), device_ptr<const S>(src));
    });
  });
  check_launch("copy_");
}

void fill(const Tensor& dst, double value) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const Offsets<1> at = make_offsets<1>({&dst});
  visit_device_dtype(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = convert<T>(value);  // host side: the same conversion
    fill_kernel<T><<<grid_for(n), kBlock, 0, stream_of(dst)>>>(n, at, device_ptr<T>(dst), v);
  });
  check_launch("fill_");
}

}  // namespace qn::cuda
