// BatchNorm over (N, C) or (N, C, H, W), per channel c, in a few passes over the data (x contiguous):
//   moments    mean_c and the biased variance var_c of the channel's N*H*W values (two passes, f64 sums)
//   forward    y = act((x - mean_c) * rstd_c * w_c + b_c)   (one pass; w, b may be undefined)
//   backward   training (mean and rstd from the batch, so they depend on x), with M = N*H*W:
//                dx = w rstd (g - sum(g) / M - (x - mean) rstd^2 sum(g (x - mean)) / M)
//              eval (running statistics, constants):  dx = w rstd g
//              dw = rstd sum(g (x - mean)),  db = sum(g)            (two passes)
// Per-channel tensors are (C) in x's dtype.
//
// With an activation (EfficientNet's BatchNorm + SiLU), the backward is as above with g replaced by g act'(t), t
// the normalized value. On the CPU that is one kernel each way: t is never stored; the backward recomputes it from
// x in the pass that sums g act'(t), and keeps g act'(t) in dx's buffer for the pass that writes dx. On an
// accelerator (and on the simulated device, which takes its path) the activation's own kernels run after the
// forward and before the backward, which recomputes t with one more forward pass.
//
// Synchronized BatchNorm (nn::BatchNorm2d::synchronize): with sum_over_processes, the per-channel sums (and
// the counts) are added over the processes of a data-parallel run before use, so every process normalizes with
// the statistics of the whole batch, and its backward uses the gradient sums of the whole batch: mean and
// variance in the same two passes (the variance around the global mean), M the global count.
#pragma once

#include <functional>
#include <vector>

#include "core/tensor.h"

namespace qn::kernels {

// Adds f64 values, in place, over the processes of a data-parallel run. Every process calls it at the same
// points in the same order: twice in the moments, once in a training backward. Empty: this process alone.
using SumOverProcesses = std::function<void(std::vector<double>& values)>;

// The activation applied to BatchNorm's output in the same pass.
enum class NormActivation { none, silu };

struct BatchNormMoments {
  Tensor mean;       // (C)
  Tensor var;        // (C), biased
  double count = 0;  // the values per channel the statistics cover (all processes' when synchronized)
};
BatchNormMoments batch_norm_moments(const Tensor& x, const SumOverProcesses& sum_over_processes = {});

Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                          const Tensor& bias, NormActivation activation = NormActivation::none);

struct BatchNormGrads {
  Tensor dx, dweight, dbias;  // dweight / dbias undefined unless asked for
};
// dweight and dbias are this process's sums either way (the gradient reducer averages them like any other).
// `bias` is read only with an activation (t needs it).
BatchNormGrads batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& weight, bool training, bool weight_grad, bool bias_grad,
                                   const SumOverProcesses& sum_over_processes = {},
                                   NormActivation activation = NormActivation::none, const Tensor& bias = {});

// Synchronized BatchNorm made of device kernels (sums over N, H, W, elementwise ops): what the GPU runs, where the
// moments live on the device. Only the per-channel sums cross to the host, where sum_over_processes adds them
// (2C + 1 values a call, as the CPU kernel's). Callable with CPU tensors, which is how it is tested.
BatchNormMoments synchronized_batch_norm_moments(const Tensor& x, const SumOverProcesses& sum_over_processes);
BatchNormGrads synchronized_batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean,
                                                const Tensor& rstd, const Tensor& weight, bool training,
                                                bool weight_grad, bool bias_grad,
                                                const SumOverProcesses& sum_over_processes);

}  // namespace qn::kernels
