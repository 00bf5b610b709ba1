// An iPQ quantization config in fairseq's YAML schema (docs/METHOD.md, iPQ):
//
//   n_centroids:                       # K per layer type, looked up by one of the layer's attributes
//     Linear: {key: in_features, value: {"*": 256}}
//     Embedding: {key: embedding_dim, value: {"*": 256}}
//   block_sizes:                       # block size per layer type; fuzzy_name: the first key (in file
//     Linear: {key: fuzzy_name, value: {fc: 8, attn: 4, emb: 4}}      order) that occurs in the
//     Embedding: {key: fuzzy_name, value: {emb: 8}}                   layer's name wins
//   layers_to_quantize:                # one regular expression per stage, matched from the start of
//     - 'decoder\.layers\.\d+\.fc[12]' # each layer's name (its parameter name less ".weight")
//
// Keys: Linear in_features/out_features, Embedding num_embeddings/embedding_dim, Conv2d in_channels/
// out_channels/groups/kernel_size ("(3, 3)", as Python prints it), any of them fuzzy_name; "*" is the
// fallback value. Optional extras (ours): n_iter (k-means iterations, default 15 as fairseq's
// quantize_model_), eps (1e-6), max_tentatives (100), centroid_gradient (mean | sum, default mean),
// clamp_centroids (kill-the-bits' rule: K at most the largest power of two strictly below blocks / 4),
// fit_block_size (a block size that does not divide a layer's rows falls to the largest one below it that
// does: EfficientNet's squeeze-and-excitation convolutions have 4, 6, 10, ... input channels).
//
// A pattern written with doubled backslashes in a plain YAML scalar (fairseq's shipped example) keeps
// them, matches nothing, and the stage that selects no layer is an error naming its pattern.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/quantizable.h"

namespace qn::nn::quant {

// How one parameter (K or block size) is chosen for one layer type.
struct LayerParamRule {
  std::string key;                                      // an attribute name, or "fuzzy_name"
  std::vector<std::pair<std::string, int64_t>> values;  // in file order; "*" is the fallback
};

struct IpqConfig {
  std::map<std::string, LayerParamRule> n_centroids;  // by layer type: "Linear", "Embedding", "Conv2d"
  std::map<std::string, LayerParamRule> block_sizes;
  std::vector<std::string> layers_to_quantize;  // one pattern per stage
  int64_t n_iter = 15;
  double eps = 1e-6;
  int64_t max_tentatives = 100;
  bool mean_gradient = true;
  bool clamp_centroids = false;
  bool fit_block_size = false;

  // Throws qn::Error with the file name and what is wrong (YAML syntax, a missing or mistyped key, a bad
  // regular expression, a non-positive size).
  static IpqConfig parse(const std::string& yaml_text, const std::string& source = "<config>");
  static IpqConfig load(const std::string& path);

  int64_t num_stages() const { return static_cast<int64_t>(layers_to_quantize.size()); }
  // The PQ settings for the layer called name (K and block size; the k-means settings of this config).
  // Throws when its type has no rule or no value fits.
  PqOptions options_for(const std::string& name, const QuantizableLayer& layer) const;
};

// The float quantizable layers of stage `stage`, by name, in module order. Throws when the pattern selects
// no layer, or selects a module that cannot be product-quantized.
std::vector<std::pair<std::string, std::shared_ptr<QuantizableLayer>>> select_stage(const Module& model,
                                                                                    const IpqConfig& config,
                                                                                    int64_t stage);

// The same selection over names alone (the layer names of a model, for tests and dry runs).
std::vector<std::string> match_layer_names(const std::vector<std::string>& names, const std::string& pattern);

}  // namespace qn::nn::quant
