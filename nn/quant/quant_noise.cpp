#include "nn/quant/quant_noise.h"

#include <atomic>

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
    case NoiseMode::kPq:
      return "pq";
  }
  return "?";
}

namespace {
thread_local Generator* scoped_generator = nullptr;
}  // namespace

WeightNoiseGeneratorScope::WeightNoiseGeneratorScope(Generator* generator) : previous_(scoped_generator) {
  scoped_generator = generator;
}

WeightNoiseGeneratorScope::~WeightNoiseGeneratorScope() { scoped_generator = previous_; }

Generator* WeightNoise::generator() const {
  return options_.generator ? options_.generator : scoped_generator;  // nullptr: the default generator
}

WeightNoise::WeightNoise(const QuantNoise& options, LayerKind kind, const Shape& weight_shape) : options_(options) {
  const char* name = layer_kind_name(kind);
  QN_CHECK(options.p >= 0 && options.p <= 1, name, "quant-noise rate must lie in [0, 1], got ", options.p);
  QN_CHECK(options.mode == NoiseMode::kProxy || options.update_step >= 1, name, "update_step must be >= 1, got ",
           options.update_step);
  if (options.scalar()) {
    scalar_.emplace(options.bits(), options.observer, options.update_step);
    return;
  }
  layout_ = BlockLayout::of(kind, weight_shape, options.block_size);
  const bool kernel_units = kind == LayerKind::kConv2d && options.whole_kernels && layout_.kernel_area > 1;
  QN_CHECK(!kernel_units || options.mode == NoiseMode::kProxy, name,
           "whole-kernel noise is a proxy-noise mode; pq noise follows the PQ blocks");
  unit_size_ = kernel_units ? layout_.kernel_area : options.block_size;
  if (options.mode == NoiseMode::kPq) {
    QN_CHECK(options.pq_centroids >= 1 && options.pq_centroids <= layout_.num_blocks(), name,
             "pq noise needs 1 <= K <= ", layout_.num_blocks(),
             " (the weight's blocks), got K = ", options.pq_centroids);
    QN_CHECK(options.pq_iterations >= 1, name, "pq_iterations must be >= 1, got ", options.pq_iterations);
  }
}

const QParams& WeightNoise::qparams() const {
  QN_CHECK(scalar_.has_value(), "WeightNoise", "qparams exist only in int8/int4 mode, not ",
           noise_mode_name(options_.mode));
  return scalar_->qparams();
}

Tensor WeightNoise::apply(Tensor& weight, bool training) {
  if (scalar_) return scalar_->apply(weight, training ? options_.p : 1.0, generator());
  if (!training || options_.p == 0) return weight;  // no draws at all
  return options_.mode == NoiseMode::kPq ? pq(weight) : proxy(weight);
}

Tensor WeightNoise::draw_proxy_uniforms(Device device) {
  return rand({layout_.rows, layout_.row_size / unit_size_}, TensorOptions(DType::f32, device), generator());
}

Tensor WeightNoise::proxy_mask(const Tensor& uniforms) const {
  return kernels::compare(kernels::CompareOp::lt, uniforms, options_.p);
}

Tensor WeightNoise::apply_proxy_mask(const Tensor& weight, const Tensor& mask) const {
  const double keep = options_.rescale && options_.p < 1 ? 1.0 / (1.0 - options_.p) : 1.0;  // p = 1 drops all
  const Tensor factor =
      kernels::where(mask, scalar_tensor(0.0, weight.options()), scalar_tensor(keep, weight.options()));
  const int64_t units = layout_.row_size / unit_size_;
  const Tensor rows = weight.detach().reshape({layout_.rows, units, unit_size_});
  return kernels::binary(kernels::BinaryOp::mul, rows, factor.reshape({layout_.rows, units, 1})).view(weight.shape());
}

Tensor WeightNoise::proxy(Tensor& weight) {
  const Tensor noised = apply_proxy_mask(weight, proxy_mask(draw_proxy_uniforms(weight.device())));
  if (options_.destructive) {  // fairseq's hook: the parameter itself becomes the noised weight
    NoGradGuard no_grad;
    weight.copy_(noised);
    return weight;
  }
  return straight_through(weight, noised);
}

// W + mask * (W_hat - W) per block, W_hat decoded from a codebook refreshed every update_step forwards.
Tensor WeightNoise::pq(const Tensor& weight) {
  if (pq_forwards_ % options_.update_step == 0) {
    KMeansOptions kmeans;
    kmeans.n_centroids = options_.pq_centroids;
    kmeans.n_iter = options_.pq_iterations;
    kmeans.generator = generator();
    pq_codebook_ = pq_encode(weight, layout_, kmeans);
  }
  ++pq_forwards_;
  const Tensor dropped = proxy_mask(draw_proxy_uniforms(weight.device()));  // (rows, blocks per row)
  const Shape blocks{layout_.rows, layout_.blocks_per_row(), layout_.block_size};
  const Tensor decoded = pq_decode(pq_codebook_->centroids, pq_codebook_->assignments, layout_).reshape(blocks);
  const Tensor dense = weight.detach().reshape(blocks);
  const Tensor noised = kernels::where(dropped.reshape({blocks[0], blocks[1], 1}), decoded, dense);
  return straight_through(weight, noised.view(weight.shape()));
}

namespace {
std::atomic<bool> g_noise_timing{false};
std::atomic<int64_t> g_noise_nanoseconds{0};
}  // namespace

void set_noise_timing(bool on) { g_noise_timing = on; }
bool noise_timing() { return g_noise_timing; }
void add_noise_time(double seconds) { g_noise_nanoseconds += static_cast<int64_t>(seconds * 1e9); }
double noise_forward_seconds() { return static_cast<double>(g_noise_nanoseconds.load()) * 1e-9; }
void reset_noise_time() { g_noise_nanoseconds = 0; }

}  // namespace qn::nn::quant
