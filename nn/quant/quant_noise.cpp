#include "nn/quant/quant_noise.h"

#include "autograd/ops.h"
#include "kernels/elementwise.h"

namespace qn::nn::quant {

const char* noise_mode_name(NoiseMode mode) {
  switch (mode) {
    case NoiseMode::kProxy:
      return "proxy";
    case NoiseMode::kInt8:
      return "int8";
    case NoiseMode::kInt4:
      return "int4";
  }
  return "?";
}

WeightNoise::WeightNoise(const QuantNoise& options, LayerKind kind, const Shape& weight_shape) : options_(options) {
  const char* name = layer_kind_name(kind);
  QN_CHECK(options.p >= 0 && options.p <= 1, name, "quant-noise rate must lie in [0, 1], got ", options.p);
  QN_CHECK(!options.scalar() || options.update_step >= 1, name, "update_step must be >= 1, got ", options.update_step);
  if (!options.scalar()) {
    layout_ = BlockLayout::of(kind, weight_shape, options.block_size);
    const bool kernel_units = kind == LayerKind::kConv2d && options.whole_kernels && layout_.kernel_area > 1;
    unit_size_ = kernel_units ? layout_.kernel_area : options.block_size;
  }
}

Tensor WeightNoise::apply(Tensor& weight, bool training) {
  if (options_.scalar()) return scalar(weight, training);
  if (!training || options_.p == 0) return weight;  // no draws at all
  return proxy(weight);
}

Tensor WeightNoise::draw_proxy_uniforms() {
  return rand({layout_.rows, layout_.row_size / unit_size_}, DType::f32, options_.generator);
}

Tensor WeightNoise::proxy_mask(const Tensor& uniforms) const {
  return kernels::compare(kernels::CompareOp::lt, uniforms, options_.p);
}

Tensor WeightNoise::apply_proxy_mask(const Tensor& weight, const Tensor& mask) const {
  const double keep = options_.rescale && options_.p < 1 ? 1.0 / (1.0 - options_.p) : 1.0;  // p = 1 drops all
  const Tensor factor = kernels::where(mask, scalar_tensor(0.0, weight.dtype()), scalar_tensor(keep, weight.dtype()));
  const int64_t units = layout_.row_size / unit_size_;
  const Tensor rows = weight.detach().reshape({layout_.rows, units, unit_size_});
  return kernels::binary(kernels::BinaryOp::mul, rows, factor.reshape({layout_.rows, units, 1})).view(weight.shape());
}

Tensor WeightNoise::proxy(Tensor& weight) {
  const Tensor noised = apply_proxy_mask(weight, proxy_mask(draw_proxy_uniforms()));
  if (options_.destructive) {  // fairseq's hook: the parameter itself becomes the noised weight
    NoGradGuard no_grad;
    weight.copy_(noised);
    return weight;
  }
  return straight_through(weight, noised);
}

Tensor WeightNoise::scalar(const Tensor& weight, bool training) {
  if (forwards_ % options_.update_step == 0) qparams_ = observe(weight.detach(), options_.bits(), options_.observer);
  ++forwards_;
  const double p = training ? options_.p : 1.0;
  const Tensor uniforms = p < 1 ? rand(weight.shape(), DType::f32, options_.generator) : Tensor();
  const kernels::ScalarNoise mixed = kernels::scalar_quant_noise(weight.detach(), qparams_, uniforms, p);
  return straight_through(weight, mixed.value, mixed.pass);
}

}  // namespace qn::nn::quant
