// Fused optimizer steps on the CPU: one parallel pass over the elements (kernels/optimizer_math.h), each loop plain
// enough for the compiler to vectorize.
#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"

namespace qn::kernels::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

// The parameters a step takes are f32 or f64 (kernels/optimizer.cpp checks).
template <class Run>
void for_dtype(const Tensor& param, const Run& run) {
  param.dtype() == DType::f32 ? run.template operator()<float>() : run.template operator()<double>();
}

// In parallel over the elements: each is independent of the others.
template <class Element>
void for_each_element(const Tensor& param, const Element& element) {
  parallel_for(0, param.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) element(i);
  });
}

template <class T>
T* maybe(const Tensor& t) {
  return t.defined() ? t.device_ptr<T>() : nullptr;
}

}  // namespace

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const AdamStep& step) {
  for_dtype(param, [&]<class T>() {
    T* __restrict p = param.device_ptr<T>();
    const T* __restrict g = grad.device_ptr<T>();
    T* __restrict m = exp_avg.device_ptr<T>();
    T* __restrict v = exp_avg_sq.device_ptr<T>();
    for_each_element(param, [=](int64_t i) { adam_element(step, p[i], g[i], m[i], v[i]); });
  });
}

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStep& step) {
  for_dtype(param, [&]<class T>() {
    T* __restrict p = param.device_ptr<T>();
    const T* __restrict g = grad.device_ptr<T>();
    T* __restrict buf = maybe<T>(momentum_buffer);
    if (buf == nullptr) {
      for_each_element(param, [=](int64_t i) { sgd_element<T>(step, p[i], g[i], nullptr); });
    } else {
      for_each_element(param, [=](int64_t i) { sgd_element(step, p[i], g[i], buf + i); });
    }
  });
}

void nag_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const NagStep& step) {
  for_dtype(param, [&]<class T>() {
    T* __restrict p = param.device_ptr<T>();
    const T* __restrict g = grad.device_ptr<T>();
    T* __restrict buf = momentum_buffer.device_ptr<T>();
    for_each_element(param, [=](int64_t i) { nag_element(step, p[i], g[i], buf[i]); });
  });
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& momentum_buffer,
                  const RmsPropStep& step) {
  for_dtype(param, [&]<class T>() {
    T* __restrict p = param.device_ptr<T>();
    const T* __restrict g = grad.device_ptr<T>();
    T* __restrict s = square_avg.device_ptr<T>();
    T* __restrict buf = maybe<T>(momentum_buffer);
    if (buf == nullptr) {
      for_each_element(param, [=](int64_t i) { rmsprop_element<T>(step, p[i], g[i], s[i], nullptr); });
    } else {
      for_each_element(param, [=](int64_t i) { rmsprop_element(step, p[i], g[i], s[i], buf + i); });
    }
  });
}

}  // namespace qn::kernels::cpu
