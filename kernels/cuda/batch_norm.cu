// CUDA BatchNorm with the CPU's arithmetic (kernels/cpu/batch_norm.cpp): x viewed as (N, C, S); a channel's sums
// accumulate in double in one block per channel, and the elementwise passes apply per-channel coefficients.
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/kernel_support.cuh"

namespace qn::kernels::cuda {
namespace {

constexpr int kChannelBlock = 256;

struct Planes {
  int64_t n, c, s;
};

Planes planes_of(const Tensor& x) { return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1}; }

unsigned channel_blocks(const Planes& p) { return static_cast<unsigned>(std::min<int64_t>(p.c, int64_t{1} << 16)); }

// The flat index of channel ch's k-th element (k over N * S).
__device__ inline int64_t element_of(const Planes& p, int64_t ch, int64_t k) {
  return (k / p.s * p.c + ch) * p.s + k % p.s;
}

template <class T>
__global__ void moments_kernel(const T* x, Planes p, T* mean, T* var) {
  const int64_t count = p.n * p.s;
  for (int64_t ch = blockIdx.x; ch < p.c; ch += gridDim.x) {
    double total = 0;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) total += x[element_of(p, ch, k)];
    const T m = static_cast<T>(block_all<SumOp<double>>(total) / static_cast<double>(count));
    double squares = 0;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      const T d = x[element_of(p, ch, k)] - m;
      squares += d * d;
    }
    squares = block_all<SumOp<double>>(squares);
    if (threadIdx.x == 0) {
      mean[ch] = m;
      var[ch] = static_cast<T>(squares / static_cast<double>(count));
    }
  }
}

// y = (x - mean) * (rstd * w) + b
template <class T>
__global__ void forward_kernel(const T* x, Planes p, const T* mean, const T* rstd, const T* weight, const T* bias,
                               T* y) {
  QN_GRID_STRIDE_LOOP(at, p.n * p.c * p.s) {
    const int64_t ch = at / p.s % p.c;
    const T scale = (weight ? weight[ch] : T(1)) * rstd[ch];
    y[at] = (x[at] - mean[ch]) * scale + (bias ? bias[ch] : T(0));
  }
}

// Per channel: the weight and bias gradients, and dx's coefficients a, slope, shift (dx = a g + slope (x - mean) +
// shift, a = w rstd).
template <class T>
__global__ void backward_sums_kernel(const T* grad, const T* x, Planes p, const T* mean, const T* rstd, const T* weight,
                                     bool training, T* dweight, T* dbias, T* a, T* slope, T* shift) {
  const int64_t count = p.n * p.s;
  for (int64_t ch = blockIdx.x; ch < p.c; ch += gridDim.x) {
    double sum_g = 0, sum_gx = 0;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      const int64_t at = element_of(p, ch, k);
      sum_g += grad[at];
      sum_gx += grad[at] * (x[at] - mean[ch]);
    }
    sum_g = block_all<SumOp<double>>(sum_g);
    sum_gx = block_all<SumOp<double>>(sum_gx);
    if (threadIdx.x == 0) {
      const T r = rstd[ch];
      if (dweight) dweight[ch] = static_cast<T>(sum_gx * r);
      if (dbias) dbias[ch] = static_cast<T>(sum_g);
      a[ch] = r * (weight ? weight[ch] : T(1));
      const double n = static_cast<double>(count);
      slope[ch] = training ? static_cast<T>(-static_cast<double>(a[ch]) * r * r * sum_gx / n) : T(0);
      shift[ch] = training ? static_cast<T>(-static_cast<double>(a[ch]) * sum_g / n) : T(0);
    }
  }
}

template <class T>
__global__ void backward_apply_kernel(const T* grad, const T* x, Planes p, const T* mean, const T* a, const T* slope,
                                      const T* shift, T* dx) {
  QN_GRID_STRIDE_LOOP(at, p.n * p.c * p.s) {
    const int64_t ch = at / p.s % p.c;
    dx[at] = a[ch] * grad[at] + slope[ch] * (x[at] - mean[ch]) + shift[ch];
  }
}

template <class T>
const T* optional_ptr(const Tensor& t) {
  return t.defined() ? device_ptr<const T>(t) : nullptr;
}

}  // namespace

void batch_norm_moments(const Tensor& x, Tensor& mean, Tensor& var) {
  const Planes p = planes_of(x);
  if (p.c == 0) return;
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    moments_kernel<T><<<channel_blocks(p), kChannelBlock, 0, stream_of(x)>>>(device_ptr<const T>(x), p,
                                                                             device_ptr<T>(mean), device_ptr<T>(var));
  });
  check_launch("batch_norm");
}

void batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                        const Tensor& bias, Tensor& out) {
  const Planes p = planes_of(x);
  const int64_t n = p.n * p.c * p.s;
  if (n == 0) return;
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward_kernel<T><<<grid_for(n), kBlock, 0, stream_of(x)>>>(device_ptr<const T>(x), p, device_ptr<const T>(mean),
                                                                device_ptr<const T>(rstd), optional_ptr<T>(weight),
                                                                optional_ptr<T>(bias), device_ptr<T>(out));
  });
  check_launch("batch_norm");
}

void batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  const Planes p = planes_of(x);
  if (p.c == 0) return;
  const Tensor a = empty({p.c}, x.options()), slope = empty({p.c}, x.options()), shift = empty({p.c}, x.options());
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_sums_kernel<T><<<channel_blocks(p), kChannelBlock, 0, stream_of(x)>>>(
        device_ptr<const T>(grad), device_ptr<const T>(x), p, device_ptr<const T>(mean), device_ptr<const T>(rstd),
        optional_ptr<T>(weight), training, dweight.defined() ? device_ptr<T>(dweight) : nullptr,
        dbias.defined() ? device_ptr<T>(dbias) : nullptr, device_ptr<T>(a), device_ptr<T>(slope), device_ptr<T>(shift));
    const int64_t n = p.n * p.c * p.s;
    if (n > 0) {
      backward_apply_kernel<T><<<grid_for(n), kBlock, 0, stream_of(x)>>>(
          device_ptr<const T>(grad), device_ptr<const T>(x), p, device_ptr<const T>(mean), device_ptr<const T>(a),
          device_ptr<const T>(slope), device_ptr<const T>(shift), device_ptr<T>(dx));
    }
  });
  check_launch("batch_norm");
}

}  // namespace qn::kernels::cuda
