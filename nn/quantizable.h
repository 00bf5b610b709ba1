// What Linear, Conv2d and Embedding share: a weight that Quant-Noise distorts in training, whose output may
// be fake-quantized, and that iPQ can replace by its product-quantized form (docs/METHOD.md, product quantization).
//
//   float  parameter  weight                       the forward uses noise(weight) in training
//   PQ     parameter  centroids (K, bs)            the forward uses decode(centroids, assignments): the
//          buffers    assignments (i64, blocks)    centroids gathered by code and laid back into the
//                     counts (i64, K)              weight's shape (BlockLayout), through autograd
//
// Once product-quantized the dense weight leaves the parameters (it is no longer trainable), noise stops
// (fairseq's PQ layers carry none), and each centroid's gradient is the sum of its blocks' gradients, or
// their mean — the sum divided by the centroid's count — with mean_gradient (the default, as the paper's
// update rule and PQConv2d). The state dict then holds centroids, assignments and counts under the layer's
// name, as fairseq's PQLinear/PQConv2d/PQEmbedding do.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "nn/module.h"
#include "nn/quant/activation.h"
#include "nn/quant/pq.h"
#include "nn/quant/quant_noise.h"

namespace qn::nn {

struct PqOptions {
  int64_t block_size = 8;
  quant::KMeansOptions kmeans;
  bool mean_gradient = true;  // centroid gradient: mean of its blocks' gradients (false: their sum)
};

// The product-quantized weight of a layer (handles to the layer's registered tensors).
struct PqWeight {
  quant::BlockLayout layout;
  bool mean_gradient = true;
  Tensor centroids;    // (K, bs), trainable
  Tensor assignments;  // i64 (num_blocks)
  Tensor counts;       // i64 (K)
  int64_t n_centroids() const { return centroids.size(0); }
};

class QuantizableLayer : public Module {
 public:
  // The weight this forward uses: the parameter, its noised form in training, or the decoded PQ weight.
  Tensor effective_weight();
  // The weight as stored, without training noise: the parameter or the decoded PQ weight (through autograd
  // either way). For a second, tied use of the weight that carries no noise (adaptive softmax).
  Tensor stored_weight();
  quant::WeightNoise* noise() { return noise_.get(); }
  // The output quantizer, when the Quant-Noise setting asks for one (scalar modes with quantize_output).
  quant::ActivationQuantizer* output_quantizer() { return output_quantizer_.get(); }

  quant::LayerKind layer_kind() const { return kind_; }
  const Shape& weight_shape() const { return weight_shape_; }
  int64_t weight_numel() const { return weight_shape_.numel(); }

  // --- product quantization
  bool is_product_quantized() const { return pq_.has_value(); }
  const PqWeight& pq() const;
  // Runs k-means on the current weight and replaces it by the result; returns the codebook (with the
  // k-means objective per iteration). Throws when the block size does not fit the weight or K exceeds the
  // number of blocks.
  quant::PqCodebook quantize(const PqOptions& options);
  // Takes an existing codebook (from quantize on a copy, or a compressed file).
  void set_codebook(const quant::PqCodebook& codebook, bool mean_gradient = true);
  // Gives the layer the PQ tensors' shapes (zero-filled) without running k-means, so that a state dict
  // saved inside iPQ can be loaded into it.
  void make_product_quantized(int64_t block_size, int64_t n_centroids, bool mean_gradient = true);

  Tensor weight;  // undefined once product-quantized
  Tensor bias;    // undefined without bias

 protected:
  QuantizableLayer(std::string type_name, quant::LayerKind kind, const quant::QuantNoise& noise);
  // Registers the weight parameter with its final shape and sets up the noise for it (constructors).
  Tensor& init_weight(const Shape& shape);
  // The layer's output after the output quantizer, if any (forwards end with this).
  Tensor finish(const Tensor& output);

 private:
  quant::LayerKind kind_;
  quant::QuantNoise noise_options_;
  Shape weight_shape_;
  std::unique_ptr<quant::WeightNoise> noise_;                     // null without Quant-Noise
  std::unique_ptr<quant::ActivationQuantizer> output_quantizer_;  // null unless asked for
  std::optional<PqWeight> pq_;
};

// The quantizable layers of a model by dotted name (sorted), optionally only those already product-quantized.
std::map<std::string, std::shared_ptr<QuantizableLayer>> quantizable_layers(const Module& model,
                                                                            bool product_quantized_only = false);

}  // namespace qn::nn
