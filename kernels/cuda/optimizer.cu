// Fused optimizer steps on the GPU: one thread per element, the formulas of kernels/optimizer_math.h. The step's
// coefficients arrive by value, so nothing is read back from the device.
#include "kernels/cuda/kernel_support.cuh"
#include "kernels/optimizer_math.h"

namespace qn::kernels::cuda {
namespace {

template <class T>
__global__ void adam_kernel(int64_t n, AdamStep s, T* p, const T* g, T* m, T* v) {
  QN_GRID_STRIDE_LOOP(i, n) { adam_element(s, p[i], g[i], m[i], v[i]); }
}

template <class T>
__global__ void sgd_kernel(int64_t n, SgdStep s, T* p, const T* g, T* buf) {
  QN_GRID_STRIDE_LOOP(i, n) { sgd_element(s, p[i], g[i], buf == nullptr ? nullptr : buf + i); }
}

template <class T>
__global__ void nag_kernel(int64_t n, NagStep s, T* p, const T* g, T* buf) {
  QN_GRID_STRIDE_LOOP(i, n) { nag_element(s, p[i], g[i], buf[i]); }
}

template <class T>
__global__ void rmsprop_kernel(int64_t n, RmsPropStep s, T* p, const T* g, T* square_avg, T* buf) {
  QN_GRID_STRIDE_LOOP(i, n) { rmsprop_element(s, p[i], g[i], square_avg[i], buf == nullptr ? nullptr : buf + i); }
}

// The parameters a step takes are f32 or f64 (kernels/optimizer.cpp checks); an empty one launches nothing.
template <class Launch>
void for_dtype(const char* op, const Tensor& param, const Launch& launch) {
  const int64_t n = param.numel();
  if (n == 0) return;
  if (param.dtype() == DType::f32) {
    launch.template operator()<float>(n);
  } else {
    launch.template operator()<double>(n);
  }
  check_launch(op);
}

template <class T>
T* maybe(const Tensor& t) {
  return t.defined() ? device_ptr<T>(t) : nullptr;
}

}  // namespace

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const AdamStep& step) {
  for_dtype("adam_step", param, [&]<class T>(int64_t n) {
    adam_kernel<T><<<grid_for(n), kBlock, 0, stream_of(param)>>>(
        n, step, device_ptr<T>(param), device_ptr<const T>(grad), device_ptr<T>(exp_avg), device_ptr<T>(exp_avg_sq));
  });
}

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStep& step) {
  for_dtype("sgd_step", param, [&]<class T>(int64_t n) {
    sgd_kernel<T><<<grid_for(n), kBlock, 0, stream_of(param)>>>(n, step, device_ptr<T>(param),
                                                                device_ptr<const T>(grad), maybe<T>(momentum_buffer));
  });
}

void nag_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const NagStep& step) {
  for_dtype("nag_step", param, [&]<class T>(int64_t n) {
    nag_kernel<T><<<grid_for(n), kBlock, 0, stream_of(param)>>>(
        n, step, device_ptr<T>(param), device_ptr<const T>(grad), device_ptr<T>(momentum_buffer));
  });
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& momentum_buffer,
                  const RmsPropStep& step) {
  for_dtype("rmsprop_step", param, [&]<class T>(int64_t n) {
    rmsprop_kernel<T><<<grid_for(n), kBlock, 0, stream_of(param)>>>(
        n, step, device_ptr<T>(param), device_ptr<const T>(grad), device_ptr<T>(square_avg), maybe<T>(momentum_buffer));
  });
}

}  // namespace qn::kernels::cuda
