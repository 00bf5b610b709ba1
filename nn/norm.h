// Normalization layers.
//   LayerNorm over the trailing normalized_shape dims, weight/bias of that shape.
//   BatchNorm2d per channel of (N, C, H, W): batch statistics in training (updating running_mean,
//   running_var and num_batches_tracked), running statistics in eval. momentum as PyTorch's
//   (running = (1 - momentum) running + momentum batch); EfficientNet's TF decay 0.99 is momentum 0.01.
//   Synchronized (synchronize, as PyTorch's SyncBatchNorm): training statistics of the whole batch of a
//   data-parallel run, every process's part of it; distributed::synchronize_batch_norm sets it on a model.
#pragma once

#include "kernels/batch_norm.h"
#include "nn/module.h"

namespace qn::nn {

struct LayerNormOptions {
  explicit LayerNormOptions(Shape normalized_shape) : shape_(normalized_shape) {}
  LayerNormOptions& eps(double e) {
    eps_ = e;
    return *this;
  }
  LayerNormOptions& elementwise_affine(bool on) {
    affine_ = on;
    return *this;
  }
  Shape shape_;
  double eps_ = 1e-5;
  bool affine_ = true;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  Tensor forward(const Tensor& x) override;

  const LayerNormOptions options;
  Tensor weight;  // undefined without elementwise_affine
  Tensor bias;
};

struct BatchNorm2dOptions {
  explicit BatchNorm2dOptions(int64_t num_features) : features_(num_features) {}
  BatchNorm2dOptions& eps(double e) {
    eps_ = e;
    return *this;
  }
  BatchNorm2dOptions& momentum(double m) {
    momentum_ = m;
    return *this;
  }
  BatchNorm2dOptions& affine(bool on) {
    affine_ = on;
    return *this;
  }
  int64_t features_;
  double eps_ = 1e-5;
  double momentum_ = 0.1;
  bool affine_ = true;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(const BatchNorm2dOptions& options);
  Tensor forward(const Tensor& x) override;
  // act(BatchNorm(x)) as one op (the normalized x is not stored): what a BatchNorm followed by SiLU computes.
  Tensor forward(const Tensor& x, kernels::NormActivation activation);

  // Training forwards (and their backwards) add their per-channel sums over the processes through
  // sum_over_processes, which every process's copy of the layer calls in the same order; empty: this
  // process's batch alone.
  void synchronize(kernels::SumOverProcesses sum_over_processes) {
    sum_over_processes_ = std::move(sum_over_processes);
  }

  const BatchNorm2dOptions options;
  Tensor weight;  // undefined without affine
  Tensor bias;
  Tensor running_mean;
  Tensor running_var;
  Tensor num_batches_tracked;  // i64 scalar, as in PyTorch's state dicts

 private:
  kernels::SumOverProcesses sum_over_processes_;
};

}  // namespace qn::nn
