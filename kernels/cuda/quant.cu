// CUDA scalar quantization noise, element by element as kernels/cpu/quant.cpp computes it: in the tensor's own
// precision, codes rounded half to even. The per-channel parameters travel to the device once per call.
#include <cmath>
#include <vector>

#include "kernels/cuda/kernel_support.cuh"

namespace qn::kernels::cuda {
namespace {

// params: per channel, scale, zero point, low, high (as f32, as the CPU reads them from QParams).
template <class T>
__global__ void scalar_quant_noise_kernel(const T* x, const float* params, int64_t n, int64_t per_channel,
                                          bool channelwise, T qmax, const float* uniform, float threshold, T* out,
                                          uint8_t* pass) {
  QN_GRID_STRIDE_LOOP(i, n) {
    const int64_t c = channelwise ? i / per_channel : 0;
    const T s = static_cast<T>(params[4 * c]), z = static_cast<T>(params[4 * c + 1]);
    const T lo = static_cast<T>(params[4 * c + 2]), hi = static_cast<T>(params[4 * c + 3]);
    const T w = x[i];
    const T clamped = min(max(w, lo), hi);
    pass[i] = w >= lo && w <= hi;
    if (uniform && !(uniform[i] < threshold)) {
      out[i] = clamped;
      continue;
    }
    const T code = min(max(m_rint(w / s + z), T(0)), qmax);
    out[i] = (code - z) * s;
  }
}

}  // namespace

void scalar_quant_noise(const Tensor& x, const QParams& q, const Tensor& uniform, double p, Tensor& value,
                        Tensor& pass) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const int64_t channels = q.per_channel() ? x.size(0) : 1;
  std::vector<float> params;
  for (size_t c = 0; c < q.scale.size(); ++c) {
    params.insert(params.end(), {q.scale[c], static_cast<float>(q.zero_point[c]), q.low(c), q.high(c)});
  }
  const Tensor on_device = from_vector<float>(params, {static_cast<int64_t>(params.size())}).to(x.device());
  visit_floating(x.dtype(), "scalar_quant_noise", [&](auto tag) {
    using T = typename decltype(tag)::type;
    scalar_quant_noise_kernel<T><<<grid_for(n), kBlock, 0, stream_of(value)>>>(
        device_ptr<const T>(x), device_ptr<const float>(on_device), n, n / channels, q.per_channel(),
        static_cast<T>(q.qmax()), uniform.defined() ? device_ptr<const float>(uniform) : nullptr, static_cast<float>(p),
        device_ptr<T>(value), device_ptr<uint8_t>(pass));
  });
  check_launch("scalar_quant_noise");
}

}  // namespace qn::kernels::cuda
