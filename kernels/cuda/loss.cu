// CUDA cross-entropy on log-probabilities (N, C), computed as kernels/cpu/loss.cpp does: a row's smoothing term
// sums its log-probabilities in double (one block per row); the backward pass is elementwise.
#include <cmath>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/kernel_support.cuh"

namespace qn::kernels::cuda {
namespace {

constexpr int kRowBlock = 256;

// ignore < 0 or a target equal to it marks a row as ignored (has_ignore says whether there is an ignore index).
template <class T>
__global__ void nll_rows(const T* log_probs, const int64_t* targets, int64_t n, int64_t classes, bool has_ignore,
                         int64_t ignore, double smoothing, T* losses) {
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const int64_t t = targets[i];
    if (has_ignore && t == ignore) {  // uniform across the block: every thread skips the row
      if (threadIdx.x == 0) losses[i] = T(0);
      continue;
    }
    const T* row = log_probs + i * classes;
    double total = 0;
    if (smoothing > 0) {
      for (int64_t c = threadIdx.x; c < classes; c += blockDim.x) total += row[c];
      total = block_all<SumOp<double>>(total);
    }
    if (threadIdx.x == 0) {
      losses[i] = static_cast<T>(-((1 - smoothing) * row[t] + smoothing / static_cast<double>(classes) * total));
    }
  }
}

template <class T>
__global__ void cross_entropy_grad(const T* log_probs, const int64_t* targets, const T* weights, int64_t n,
                                   int64_t classes, bool has_ignore, int64_t ignore, T uniform, T target_weight,
                                   T* grad) {
  QN_GRID_STRIDE_LOOP(k, n * classes) {
    const int64_t i = k / classes, c = k % classes;
    const int64_t t = targets[i];
    if (has_ignore && t == ignore) {
      grad[k] = T(0);
      continue;
    }
    T v = weights[i] * (m_exp(log_probs[k]) - uniform);
    if (c == t) v -= weights[i] * target_weight;
    grad[k] = v;
  }
}

}  // namespace

void nll_with_smoothing(const Tensor& log_probs, const Tensor& targets, std::optional<int64_t> ignore_index,
                        double smoothing, Tensor& losses) {
  const int64_t n = log_probs.size(0), classes = log_probs.size(1);
  if (n == 0) return;
  visit_floating(log_probs.dtype(), "cross_entropy", [&](auto tag) {
    using T = typename decltype(tag)::type;
    nll_rows<T><<<static_cast<unsigned>(std::min<int64_t>(n, int64_t{1} << 16)), kRowBlock, 0, stream_of(losses)>>>(
        device_ptr<const T>(log_probs), device_ptr<const int64_t>(targets), n, classes, ignore_index.has_value(),
        ignore_index.value_or(0), smoothing, device_ptr<T>(losses));
  });
  check_launch("cross_entropy");
}

void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, const Tensor& weights,
                            std::optional<int64_t> ignore_index, double smoothing, Tensor& grad) {
  const int64_t n = log_probs.size(0), classes = log_probs.size(1);
  if (n * classes == 0) return;
  visit_floating(log_probs.dtype(), "cross_entropy_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cross_entropy_grad<T><<<grid_for(n * classes), kBlock, 0, stream_of(grad)>>>(
        device_ptr<const T>(log_probs), device_ptr<const int64_t>(targets), device_ptr<const T>(weights), n, classes,
        ignore_index.has_value(), ignore_index.value_or(0), static_cast<T>(smoothing / static_cast<double>(classes)),
        static_cast<T>(1 - smoothing), device_ptr<T>(grad));
  });
  check_launch("cross_entropy_backward");
}

}  // namespace qn::kernels::cuda
