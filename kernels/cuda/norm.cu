// CUDA softmax, log-softmax and LayerNorm forward on contiguous input, computed as kernels/cpu/softmax.cpp and
// kernels/cpu/layer_norm.cpp do: softmax subtracts the row's max and sums in T; LayerNorm takes the mean and the
// biased variance in double, in two passes. A row is one block; softmax over a dim that is not the last walks each
// column in one thread.
#include <cmath>
#include <limits>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/kernel_support.cuh"

namespace qn::kernels::cuda {
namespace {

constexpr int kRowBlock = 256;
constexpr int64_t kMaxRowBlocks = int64_t{1} << 16;

template <class T>
struct MaxOp {
  using A = T;
  __device__ static T identity() { return -std::numeric_limits<T>::infinity(); }
  __device__ static T combine(T a, T b) { return a < b ? b : a; }  // std::max's NaN behaviour, as on the CPU
};

// A row's max made safe to subtract: all -inf gives 0 (the row then comes out NaN, as in PyTorch).
template <class T>
__device__ T shift_of(T max) {
  return isfinite(max) ? max : (isnan(max) ? max : T(0));
}

template <class T>
__global__ void softmax_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* in = x + row * n;
    T* out = y + row * n;
    T max = MaxOp<T>::identity();
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) max = MaxOp<T>::combine(max, in[j]);
    max = shift_of(block_all<MaxOp<T>>(max));
    T sum = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += m_exp(in[j] - max);
    sum = block_all<SumOp<T>>(sum);
    if (log) {
      // (x - max) - log(sum): folding max into one shift would round it at max's magnitude.
      const T log_sum = m_log(sum);
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) out[j] = (in[j] - max) - log_sum;
    } else {
      const T scale = T(1) / sum;
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) out[j] = m_exp(in[j] - max) * scale;
    }
  }
}

// (outer, n, inner) with inner > 1: one thread per (outer, inner) column.
template <class T>
__global__ void softmax_columns(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  QN_GRID_STRIDE_LOOP(c, outer * inner) {
    const int64_t o = c / inner, j = c % inner;
    const T* in = x + o * n * inner + j;
    T* out = y + o * n * inner + j;
    T max = MaxOp<T>::identity();
    for (int64_t i = 0; i < n; ++i) max = MaxOp<T>::combine(max, in[i * inner]);
    max = shift_of(max);
    T sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += m_exp(in[i * inner] - max);
    const T log_sum = m_log(sum);
    for (int64_t i = 0; i < n; ++i) {
      out[i * inner] = log ? (in[i * inner] - max) - log_sum : m_exp(in[i * inner] - max) / sum;
    }
  }
}

template <class T>
__global__ void layer_norm_rows(const T* x, int64_t rows, int64_t cols, const T* weight, const T* bias, double eps,
                                T* y, T* mean_out, T* rstd_out) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* in = x + row * cols;
    double total = 0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) total += in[i];
    const double mu = block_all<SumOp<double>>(total) / static_cast<double>(cols);
    double squares = 0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) squares += (in[i] - mu) * (in[i] - mu);
    const double inv_std = 1.0 / ::sqrt(block_all<SumOp<double>>(squares) / static_cast<double>(cols) + eps);
    const T m = static_cast<T>(mu), s = static_cast<T>(inv_std);
    T* out = y + row * cols;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      T v = (in[i] - m) * s;
      if (weight) v *= weight[i];
      if (bias) v += bias[i];
      out[i] = v;
    }
    if (threadIdx.x == 0) {
      mean_out[row] = m;
      rstd_out[row] = s;
    }
  }
}

unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, kMaxRowBlocks)); }

}  // namespace

void softmax(const Tensor& x, int dim, bool log, Tensor& out) {
  if (x.numel() == 0) return;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= x.size(d);
  for (int d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  const int64_t n = x.size(dim);
  visit_floating(x.dtype(), "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (inner == 1) {
      softmax_rows<T><<<row_blocks(outer), kRowBlock, 0, stream_of(out)>>>(device_ptr<const T>(x), device_ptr<T>(out),
                                                                           outer, n, log);
    } else {
      softmax_columns<T><<<grid_for(outer * inner), kBlock, 0, stream_of(out)>>>(
          device_ptr<const T>(x), device_ptr<T>(out), outer, n, inner, log);
    }
  });
  check_launch(log ? "log_softmax" : "softmax");
}

void layer_norm(const Tensor& x, int64_t rows, int64_t cols, const Tensor& weight, const Tensor& bias, double eps,
                Tensor& out, Tensor& mean, Tensor& rstd) {
  if (rows == 0) return;
  visit_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    layer_norm_rows<T><<<row_blocks(rows), kRowBlock, 0, stream_of(out)>>>(
        device_ptr<const T>(x), rows, cols, weight.defined() ? device_ptr<const T>(weight) : nullptr,
        bias.defined() ? device_ptr<const T>(bias) : nullptr, eps, device_ptr<T>(out), device_ptr<T>(mean),
        device_ptr<T>(rstd));
  });
  check_launch("layer_norm");
}

}  // namespace qn::kernels::cuda
