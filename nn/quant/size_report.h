// Model size counted as the paper counts it (docs/METHOD.md, size accounting), in bytes, reported in MiB (the paper's
// "MB"):
//   fp32       4 bytes per trainable parameter (a tied tensor once); buffers are not counted
//   int8/int4  every parameter at 1 or 1/2 byte (other_bits 8 or 4)
//   iPQ        per product-quantized weight of n entries, block size bs, K centroids:
//                codes      n / bs * ceil(log2 K) bits
//                centroids  K * bs * centroid_bits / 8 (fp16 by default, int8 for "iPQ & int8")
//              everything else ("other": biases, norms, unquantized layers) at other_bits
// The float size is the model's before any quantization: a PQ layer counts its dense weight there.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/quant/ipq_config.h"

namespace qn::nn::quant {

struct PqShape {
  int64_t block_size = 0;
  int64_t n_centroids = 0;
};

struct SizeOptions {
  int other_bits = 32;     // parameters that are not PQ weights: 32, or 8 / 4 for scalar quantization
  int centroid_bits = 16;  // 16 (fp16) or 8
  // Float layers to count as if product-quantized with these shapes (a plan, e.g. from an IpqConfig);
  // layers already product-quantized count with their own.
  std::map<std::string, PqShape> planned;
};

struct LayerSize {
  std::string name;        // the layer ("decoder.layers.0.fc1"), or a parameter outside quantizable layers
  std::string scheme;      // "pq" or "float", "int8", "int4"
  int64_t parameters = 0;  // of the float model
  int64_t block_size = 0;  // pq only
  int64_t n_centroids = 0;
  double code_bytes = 0.0;
  double centroid_bytes = 0.0;
  double other_bytes = 0.0;
  double bytes() const { return code_bytes + centroid_bytes + other_bytes; }
};

struct SizeReport {
  std::vector<LayerSize> layers;
  int64_t parameters = 0;  // of the float model, tied tensors once
  double float_bytes = 0.0;
  double code_bytes = 0.0;
  double centroid_bytes = 0.0;
  double other_bytes = 0.0;

  // Sets the totals from the layers (and the float size from parameters).
  void total_up();
  double total_bytes() const { return code_bytes + centroid_bytes + other_bytes; }
  double ratio() const { return float_bytes / total_bytes(); }
  nlohmann::json to_json() const;
  // A table of the layers (PQ layers one per line, the rest summed) and the totals in MiB.
  std::string table() const;
};

inline constexpr double kMiB = 1024.0 * 1024.0;

// ceil(log2 K) (at least 1): the bits of one code.
int code_bits(int64_t n_centroids);

// The line of one product-quantized weight of `parameters` entries: codes and centroids (no other bytes).
LayerSize pq_layer_size(const std::string& name, int64_t parameters, const PqShape& shape, int centroid_bits);

SizeReport size_report(const Module& model, const SizeOptions& options = {});

// Every layer an iPQ config's stages would quantize, with its (bs, K): the plan for size_report.
std::map<std::string, PqShape> plan_ipq(const Module& model, const IpqConfig& config);

}  // namespace qn::nn::quant
