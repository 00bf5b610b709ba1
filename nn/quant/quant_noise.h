// Quant-Noise (docs/METHOD.md, Quant-Noise and scalar quantization): at each training forward, a random part of the
// weight is distorted and the forward uses the distorted copy; the stored weight is never overwritten and the gradient
// reaches every entry straight through.
//   proxy      blocks (block_size consecutive entries of a row, BlockLayout) are zeroed with probability
//              p, the rest scaled by 1/(1 - p); in eval the weight is used as is.
//   int8/int4  each entry is replaced by its quantized value with probability p (p = 1 in eval, so eval
//              reports the fully quantized layer), against the clamped weight:
//                W_eff = clamp(W) + m * (Q(W) - clamp(W)),   dL/dW = dL/dW_eff * [W inside the range]
//              with (s, z) recomputed from the weight every update_step forwards (training and eval).
//   pq         blocks (as proxy) are replaced with probability p by their centroid in a product
//              quantization of the weight (k-means with pq_centroids, pq_iterations), recomputed every
//              update_step training forwards; the gradient passes straight through to every entry. In eval
//              the weight is used as is: the real quantization is iPQ's, after training.
// Masks come from a Philox generator (one f32 uniform per block, row-major over (row, block); one per
// entry for int8/int4), so a (seed, offset) replays them: the options' generator, else the one a
// WeightNoiseGeneratorScope installed on this thread, else the default generator.
#pragma once

#include <cstdint>
#include <optional>

#include "core/generator.h"
#include "nn/quant/block_layout.h"
#include "nn/quant/pq.h"
#include "nn/quant/scalar.h"

namespace qn::nn::quant {

enum class NoiseMode { kProxy, kInt8, kInt4, kPq };
const char* noise_mode_name(NoiseMode mode);

struct QuantNoise {
  double p = 0.0;
  int64_t block_size = 8;
  NoiseMode mode = NoiseMode::kProxy;
  // proxy on a kxk convolution: drop whole kernels of one (out, in) pair as fairseq does, whatever the
  // block size, instead of the PQ blocks.
  bool whole_kernels = false;
  bool rescale = true;                       // proxy: kept blocks times 1/(1 - p)
  bool destructive = false;                  // fairseq compatibility: write the noised weight back into the parameter
  Observer observer = Observer::kHistogram;  // int8/int4
  int64_t update_step = 1000;                // int8/int4/pq: forwards between recomputations of (s, z) or centroids
  int64_t pq_centroids = 256;                // pq: K of the noise's codebook
  int64_t pq_iterations = 5;                 // pq: k-means iterations per recomputation
  // int8/int4: also fake-quantize the layer's output (ActivationQuantizer with the same bits and observer,
  // update_step 1000, p = 0), as fairseq's quantize_model_ does.
  bool quantize_output = false;
  Generator* generator = nullptr;  // nullptr: the default generator

  bool scalar() const { return mode == NoiseMode::kInt8 || mode == NoiseMode::kInt4; }
  bool blockwise() const { return !scalar(); }  // proxy and pq: units of block_size entries
  int bits() const { return mode == NoiseMode::kInt4 ? 4 : 8; }
  // Whether the layer's forward changes at all: block noise with p > 0, or any scalar quantization.
  bool active() const { return scalar() || p > 0; }
};

// Installs, for its lifetime on this thread, the generator that weight noise with no generator of its own
// draws from. The Trainer installs a stream that depends on (seed, update, micro-batch) alone: the weights
// are the same on every rank of a data-parallel run, so their noise is too, and W ranks with batch B train
// as one process with batch W*B (fairseq reseeds each update identically on every rank to the same end).
// Activation noise (dropout, output quantization) stays per rank.
class WeightNoiseGeneratorScope {
 public:
  explicit WeightNoiseGeneratorScope(Generator* generator);
  ~WeightNoiseGeneratorScope();
  WeightNoiseGeneratorScope(const WeightNoiseGeneratorScope&) = delete;
  WeightNoiseGeneratorScope& operator=(const WeightNoiseGeneratorScope&) = delete;

 private:
  Generator* previous_;
};

// The noise state of one layer's weight.
class WeightNoise {
 public:
  // Checks p, the block geometry (proxy) and the scalar settings; throws qn::Error naming the layer kind.
  WeightNoise(const QuantNoise& options, LayerKind kind, const Shape& weight_shape);

  // The weight the forward should use.
  Tensor apply(Tensor& weight, bool training);

  // Proxy: one f32 uniform per noise unit, (rows, units per row); a unit is dropped when its draw < p.
  Tensor draw_proxy_uniforms(Device device);
  // The dropped units as u8 (rows, units per row) for the given draws.
  Tensor proxy_mask(const Tensor& uniforms) const;
  // W * (mask expanded over each unit) with the rescale, for a mask from proxy_mask.
  Tensor apply_proxy_mask(const Tensor& weight, const Tensor& mask) const;

  const QuantNoise& options() const { return options_; }
  int64_t unit_size() const { return unit_size_; }
  // Forwards seen (int8/int4: all of them; pq: training ones), for update_step.
  int64_t forwards() const { return scalar_ ? scalar_->calls() : pq_forwards_; }
  const QParams& qparams() const;
  // What the draws come from (see WeightNoiseGeneratorScope).
  Generator* generator() const;
  // pq: the codebook the last training forward used (empty before the first).
  const std::optional<PqCodebook>& pq_codebook() const { return pq_codebook_; }

 private:
  Tensor proxy(Tensor& weight);
  Tensor pq(const Tensor& weight);

  QuantNoise options_;
  BlockLayout layout_;
  int64_t unit_size_ = 0;                      // entries per noise unit (proxy, pq)
  std::optional<ScalarFakeQuantizer> scalar_;  // int8/int4
  int64_t pq_forwards_ = 0;
  std::optional<PqCodebook> pq_codebook_;
};

// The wall time of the forward noise operations of every layer (mask draws, masking, fake quantization, observer
// updates: WeightNoise::apply and the output quantizer), summed while timing is on, for benchmarks that report Quant-
// Noise's share of a step; their backward is the straight_through op's (autograd/profile.h). Off by default.
void set_noise_timing(bool on);
bool noise_timing();
void add_noise_time(double seconds);
double noise_forward_seconds();
void reset_noise_time();

}  // namespace qn::nn::quant
