#include "nn/norm.h"

#include "nn/init.h"

namespace qn::nn {

LayerNorm::LayerNorm(const LayerNormOptions& o) : Module("LayerNorm"), options(o) {
  if (o.affine_) {
    weight = register_parameter("weight", ones(o.shape_));
    bias = register_parameter("bias", zeros(o.shape_));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, options.shape_, weight, bias, options.eps_); }

BatchNorm2d::BatchNorm2d(const BatchNorm2dOptions& o) : Module("BatchNorm2d"), options(o) {
  QN_CHECK(o.features_ > 0, "BatchNorm2d", "num_features must be positive, got ", o.features_);
  if (o.affine_) {
    weight = register_parameter("weight", ones({o.features_}));
    bias = register_parameter("bias", zeros({o.features_}));
  }
  running_mean = register_buffer("running_mean", zeros({o.features_}));
  running_var = register_buffer("running_var", ones({o.features_}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::i64));
}

Tensor BatchNorm2d::forward(const Tensor& x) { return forward(x, kernels::NormActivation::none); }

Tensor BatchNorm2d::forward(const Tensor& x, kernels::NormActivation activation) {
  QN_CHECK(x.dim() == 4 && x.size(1) == options.features_, "BatchNorm2d", "expected input (N, ", options.features_,
           ", H, W), got ", x.describe());
  if (is_training()) {
    NoGradGuard no_grad;
    add_(num_batches_tracked, ones({}, num_batches_tracked.options()));  // on its device: no read
  }
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), options.momentum_, options.eps_,
                    sum_over_processes_, activation);
}

}  // namespace qn::nn
