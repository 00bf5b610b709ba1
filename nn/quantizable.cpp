#include "nn/quantizable.h"

#include <chrono>

#include "kernels/elementwise.h"

namespace qn::nn {

QuantizableLayer::QuantizableLayer(std::string type_name, quant::LayerKind kind, const quant::QuantNoise& noise)
    : Module(std::move(type_name)), kind_(kind), noise_options_(noise) {}

Tensor& QuantizableLayer::init_weight(const Shape& shape) {
  weight_shape_ = shape;
  weight = register_parameter("weight", empty(shape));
  if (noise_options_.active()) noise_ = std::make_unique<quant::WeightNoise>(noise_options_, kind_, shape);
  if (noise_options_.quantize_output) {
    QN_CHECK(noise_options_.scalar(), type_name(), "quantize_output needs an int8/int4 noise mode, not ",
             quant::noise_mode_name(noise_options_.mode));
    quant::ActivationQuantizerOptions output;
    output.bits = noise_options_.bits();
    // One range per tensor: a per-channel weight observer becomes the histogram for the output.
    output.observer =
        noise_options_.observer == quant::Observer::kPerChannel ? quant::Observer::kHistogram : noise_options_.observer;
    output.generator = noise_options_.generator;
    output_quantizer_ = std::make_unique<quant::ActivationQuantizer>(output);
  }
  return weight;
}

namespace {

// Runs f, adding its time to Quant-Noise's forward total when timing is on.
template <class F>
Tensor timed_noise(F&& f) {
  if (!quant::noise_timing()) return f();
  const auto start = std::chrono::steady_clock::now();
  Tensor out = f();
  quant::add_noise_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return out;
}

}  // namespace

Tensor QuantizableLayer::finish(const Tensor& output) {
  if (!output_quantizer_) return output;
  return timed_noise([&] { return output_quantizer_->apply(output, is_training()); });
}

const PqWeight& QuantizableLayer::pq() const {
  QN_CHECK(pq_.has_value(), type_name(), "is not product-quantized");
  return *pq_;
}

Tensor QuantizableLayer::effective_weight() {
  if (!pq_ && noise_) return timed_noise([&] { return noise_->apply(weight, is_training()); });
  return stored_weight();
}

Tensor QuantizableLayer::stored_weight() {
  if (pq_) {
    Tensor centroids = pq_->centroids;
    if (pq_->mean_gradient) {
      // Forward: the centroids. Backward: each row's gradient (the sum over its blocks) / its count.
      Tensor inverse;
      {
        NoGradGuard no_grad;
        const Tensor counts = kernels::clamp(pq_->counts.to(centroids.dtype()), 1.0, std::nullopt);
        inverse = kernels::binary(kernels::BinaryOp::div, ones({counts.numel(), 1}, centroids.options()),
                                  counts.reshape({-1, 1}))
                      .expand(centroids.shape())
                      .contiguous();
      }
      centroids = straight_through(pq_->centroids, pq_->centroids.detach(), inverse);
    }
    return quant::pq_decode(centroids, pq_->assignments, pq_->layout);
  }
  return weight;
}

void QuantizableLayer::make_product_quantized(int64_t block_size, int64_t n_centroids, bool mean_gradient) {
  quant::PqCodebook empty_codebook;
  empty_codebook.layout = quant::BlockLayout::of(kind_, weight_shape_, block_size);
  // K is bounded before anything is allocated: the sizes may come from a file (a checkpoint's iPQ state).
  QN_CHECK(n_centroids >= 1 && n_centroids <= empty_codebook.layout.num_blocks(), type_name(), "K = ", n_centroids,
           " centroids for ", empty_codebook.layout.num_blocks(), " blocks: K must lie in [1, blocks]");
  const TensorOptions where = weight.defined() ? weight.options() : TensorOptions{};
  empty_codebook.centroids = zeros({n_centroids, block_size}, where);
  empty_codebook.assignments = zeros({empty_codebook.layout.num_blocks()}, TensorOptions(DType::i64, where.device));
  empty_codebook.counts = zeros({n_centroids}, TensorOptions(DType::i64, where.device));
  set_codebook(empty_codebook, mean_gradient);
}

quant::PqCodebook QuantizableLayer::quantize(const PqOptions& options) {
  QN_CHECK(!pq_, type_name(), "is already product-quantized");
  const quant::BlockLayout layout = quant::BlockLayout::of(kind_, weight_shape_, options.block_size);
  QN_CHECK(options.kmeans.n_centroids >= 1 && options.kmeans.n_centroids <= layout.num_blocks(), type_name(),
           "K = ", options.kmeans.n_centroids, " centroids for ", layout.num_blocks(),
           " blocks: K must lie in [1, blocks]");
  quant::PqCodebook codebook = quant::pq_encode(weight, layout, options.kmeans);
  set_codebook(codebook, options.mean_gradient);
  return codebook;
}

void QuantizableLayer::set_codebook(const quant::PqCodebook& codebook, bool mean_gradient) {
  const quant::BlockLayout& layout = codebook.layout;
  QN_CHECK(layout.kind == kind_ && layout.weight_shape == weight_shape_, type_name(), "a codebook for a ",
           quant::layer_kind_name(layout.kind), " weight ", layout.weight_shape, " does not fit this ", weight_shape_,
           " weight");
  QN_CHECK(codebook.centroids.dim() == 2 && codebook.centroids.size(1) == layout.block_size &&
               codebook.assignments.shape() == Shape{layout.num_blocks()} &&
               codebook.assignments.dtype() == DType::i64 &&
               codebook.counts.shape() == Shape{codebook.centroids.size(0)},
           type_name(), "inconsistent codebook: centroids ", codebook.centroids.describe(), ", assignments ",
           codebook.assignments.describe(), ", counts ", codebook.counts.describe(), " for ", layout.num_blocks(),
           " blocks of ", layout.block_size);
  if (!pq_) {
    unregister_parameter("weight");
    weight = Tensor();
    noise_.reset();
    pq_.emplace();
    pq_->centroids = register_parameter("centroids", codebook.centroids.detach().clone());
    // The codes and counts live with the centroids, on the layer's device.
    const Device device = codebook.centroids.device();
    pq_->assignments = register_buffer("assignments", codebook.assignments.to(device).clone());
    pq_->counts = register_buffer("counts", codebook.counts.to(device).clone());
  } else {
    QN_CHECK(pq_->centroids.shape() == codebook.centroids.shape(), type_name(), "has ", pq_->centroids.describe(),
             " centroids; the codebook has ", codebook.centroids.describe());
    NoGradGuard no_grad;
    pq_->centroids.copy_(codebook.centroids);
    pq_->assignments.copy_(codebook.assignments);
    pq_->counts.copy_(codebook.counts);
  }
  pq_->layout = layout;
  pq_->mean_gradient = mean_gradient;
}

std::map<std::string, std::shared_ptr<QuantizableLayer>> quantizable_layers(const Module& model,
                                                                            bool product_quantized_only) {
  std::map<std::string, std::shared_ptr<QuantizableLayer>> out;
  for (const auto& [name, module] : model.named_modules()) {
    auto layer = std::dynamic_pointer_cast<QuantizableLayer>(module);
    if (layer && (!product_quantized_only || layer->is_product_quantized())) out[name] = layer;
  }
  return out;
}

}  // namespace qn::nn
