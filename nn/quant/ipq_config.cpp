#include "nn/quant/ipq_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/linear.h"

namespace qn::nn::quant {
namespace {

constexpr const char* kOp = "ipq config";

// A pattern from a file is bounded before libstdc++ compiles and runs it (faults found by
// tests/fuzz/ipq_config_fuzzer.cpp): its compiler recurses once per nesting level and reads a back-reference's or
// a repeat count's digits into a long without an overflow check, and its matcher backtracks, so a repetition of
// a repetition ("a**", "(.*)*") takes time exponential in the name's length. Python's re refuses the first
// ("multiple repeat"); the second is refused here too. No layer name needs either.
constexpr size_t kMaxPatternBytes = 4096;
constexpr int kMaxPatternNesting = 64;
constexpr int kMaxPatternDigits = 9;

void check_pattern_bounds(const std::string& pattern, const std::string& source) {
  QN_CHECK(pattern.size() <= kMaxPatternBytes, kOp, source, ": a layers_to_quantize pattern of ", pattern.size(),
           " bytes is longer than ", kMaxPatternBytes);
  auto refuse = [&](const char* why) {
    throw_error(kOp, detail::concat(source, ": layers_to_quantize pattern '", pattern, "' ", why));
  };
  // Per open group: whether it holds an unbounded repetition (*, + or {n,}).
  std::vector<bool> groups{false};
  bool after_repeat = false, after_repeated_group = false;
  int digits = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    digits = (c >= '0' && c <= '9') ? digits + 1 : 0;
    if (digits > kMaxPatternDigits) refuse("holds a number of more than 9 digits");
    const bool repeat = c == '*' || c == '+' || c == '?' || c == '{';
    if (repeat) {
      const bool lazy = c == '?' && after_repeat;  // "*?", "+?", "??": the lazy forms
      if (after_repeat && !lazy) refuse("repeats a repetition");
      const size_t close = c == '{' ? pattern.find('}', i) : std::string::npos;
      const bool open_ended = close != std::string::npos && pattern[close - 1] == ',';  // {n,}
      const bool unbounded = c == '*' || c == '+' || open_ended;
      if (unbounded && after_repeated_group) refuse("repeats a group that holds a repetition");
      if (unbounded) groups.back() = true;
      if (close != std::string::npos) i = close;
      after_repeat = !lazy;
      after_repeated_group = false;
      continue;
    }
    after_repeat = after_repeated_group = false;
    if (c == '\\') {
      ++i;  // an escaped character is one atom
    } else if (c == '[') {
      const size_t close = pattern.find(']', i + 2);
      i = close == std::string::npos ? pattern.size() : close;
    } else if (c == '(') {
      groups.push_back(false);
      if (static_cast<int>(groups.size()) > kMaxPatternNesting) refuse("nests groups more than 64 deep");
    } else if (c == ')' && groups.size() > 1) {
      after_repeated_group = groups.back();
      groups.pop_back();
      if (after_repeated_group) groups.back() = true;
    }
  }
}

std::regex compile(const std::string& pattern, const std::string& source) {
  check_pattern_bounds(pattern, source);
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw_error(kOp, detail::concat(source, ": layers_to_quantize pattern '", pattern, "' is not a valid regular ",
                                    "expression: ", e.what()));
  }
}

// Python's re.match: anchored at the start of the name, not at its end.
bool matches_from_start(const std::regex& re, const std::string& name) {
  return std::regex_search(name, re, std::regex_constants::match_continuous);
}

int64_t positive(const YAML::Node& node, const std::string& where, const std::string& source) {
  int64_t value = 0;
  try {
    value = node.as<int64_t>();
  } catch (const YAML::Exception&) {
    throw_error(kOp, detail::concat(source, ": ", where, " must be an integer, got '", YAML::Dump(node), "'"));
  }
  QN_CHECK(value > 0, kOp, source, ": ", where, " must be positive, got ", value);
  return value;
}

std::map<std::string, LayerParamRule> parse_rules(const YAML::Node& node, const std::string& section,
                                                  const std::string& source) {
  QN_CHECK(node && node.IsMap(), kOp, source, ": '", section, "' must map layer types to {key, value}");
  std::map<std::string, LayerParamRule> rules;
  for (const auto& entry : node) {
    const auto type = entry.first.as<std::string>();
    QN_CHECK(type == "Linear" || type == "Embedding" || type == "Conv2d", kOp, source, ": ", section,
             " names layer type '", type, "'; the quantizable types are Linear, Embedding and Conv2d");
    const YAML::Node& rule = entry.second;
    QN_CHECK(rule.IsMap() && rule["key"] && rule["value"] && rule["value"].IsMap(), kOp, source, ": ", section, ".",
             type, " must be {key: <attribute or fuzzy_name>, value: {<attribute value or '*'>: <int>}}");
    LayerParamRule parsed;
    parsed.key = rule["key"].as<std::string>();
    for (const auto& value : rule["value"]) {
      const auto name = value.first.as<std::string>();
      parsed.values.emplace_back(name, positive(value.second, section + "." + type + ".value." + name, source));
    }
    rules[type] = std::move(parsed);
  }
  return rules;
}

// The attribute `key` of a layer as Python's str() prints it.
std::string attribute(const QuantizableLayer& layer, const std::string& key) {
  if (const auto* linear = dynamic_cast<const Linear*>(&layer)) {
    if (key == "in_features") return std::to_string(linear->options.in_features_);
    if (key == "out_features") return std::to_string(linear->options.out_features_);
  } else if (const auto* table = dynamic_cast<const Embedding*>(&layer)) {
    if (key == "num_embeddings") return std::to_string(table->options.num_);
    if (key == "embedding_dim") return std::to_string(table->options.dim_);
  } else if (const auto* conv = dynamic_cast<const Conv2d*>(&layer)) {
    if (key == "in_channels") return std::to_string(conv->options.in_channels_);
    if (key == "out_channels") return std::to_string(conv->options.out_channels_);
    if (key == "groups") return std::to_string(conv->options.groups_);
    if (key == "kernel_size") {
      return "(" + std::to_string(conv->options.kernel_size_[0]) + ", " +
             std::to_string(conv->options.kernel_size_[1]) + ")";
    }
  }
  throw_error(kOp, detail::concat("a ", layer.type_name(), " has no attribute '", key, "' to choose by"));
}

int64_t choose(const std::map<std::string, LayerParamRule>& rules, const char* what, const std::string& name,
               const QuantizableLayer& layer) {
  const auto rule = rules.find(layer.type_name());
  QN_CHECK(rule != rules.end(), kOp, what, " has no rule for ", layer.type_name(), " layers (needed by '", name, "')");
  const std::vector<std::pair<std::string, int64_t>>& values = rule->second.values;
  const std::string wanted = rule->second.key == "fuzzy_name" ? std::string() : attribute(layer, rule->second.key);
  for (const auto& [key, value] : values) {
    const bool hit =
        rule->second.key == "fuzzy_name" ? key != "*" && name.find(key) != std::string::npos : key == wanted;
    if (hit) return value;
  }
  for (const auto& [key, value] : values) {
    if (key == "*") return value;
  }
  throw_error(kOp, detail::concat(what, " for ", layer.type_name(), " '", name, "': no entry fits (by ",
                                  rule->second.key, ") and there is no '*'"));
}

}  // namespace

IpqConfig IpqConfig::parse(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw_error(kOp, detail::concat(source, ": not valid YAML: ", e.what()));
  }
  QN_CHECK(root.IsMap(), kOp, source, ": expected a mapping with n_centroids, block_sizes and layers_to_quantize");
  IpqConfig config;
  try {
    for (const auto& entry : root) {
      const auto key = entry.first.as<std::string>();
      const YAML::Node& value = entry.second;
      if (key == "n_centroids") {
        config.n_centroids = parse_rules(value, key, source);
      } else if (key == "block_sizes") {
        config.block_sizes = parse_rules(value, key, source);
      } else if (key == "layers_to_quantize") {
        QN_CHECK(value.IsSequence() && value.size() > 0, kOp, source,
                 ": layers_to_quantize must be a non-empty list of patterns, one per stage");
        for (const auto& pattern : value) {
          config.layers_to_quantize.push_back(pattern.as<std::string>());
          compile(config.layers_to_quantize.back(), source);
        }
      } else if (key == "n_iter") {
        config.n_iter = positive(value, key, source);
      } else if (key == "max_tentatives") {
        config.max_tentatives = positive(value, key, source);
      } else if (key == "eps") {
        config.eps = value.as<double>();
        QN_CHECK(config.eps > 0, kOp, source, ": eps must be positive, got ", config.eps);
      } else if (key == "clamp_centroids") {
        config.clamp_centroids = value.as<bool>();
      } else if (key == "fit_block_size") {
        config.fit_block_size = value.as<bool>();
      } else if (key == "centroid_gradient") {
        const auto mode = value.as<std::string>();
        QN_CHECK(mode == "mean" || mode == "sum", kOp, source, ": centroid_gradient is mean or sum, got '", mode, "'");
        config.mean_gradient = mode == "mean";
      } else {
        throw_error(kOp, detail::concat(source, ": unknown key '", key,
                                        "' (expected n_centroids, block_sizes, layers_to_quantize, n_iter, eps, ",
                                        "max_tentatives, centroid_gradient, clamp_centroids, fit_block_size)"));
      }
    }
  } catch (const YAML::Exception& e) {
    throw_error(kOp, detail::concat(source, ": ", e.what()));
  }
  QN_CHECK(!config.n_centroids.empty(), kOp, source, ": n_centroids is missing");
  QN_CHECK(!config.block_sizes.empty(), kOp, source, ": block_sizes is missing");
  QN_CHECK(!config.layers_to_quantize.empty(), kOp, source, ": layers_to_quantize is missing");
  return config;
}

IpqConfig IpqConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QN_CHECK(in.good(), kOp, "cannot open '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

PqOptions IpqConfig::options_for(const std::string& name, const QuantizableLayer& layer) const {
  PqOptions o;
  o.block_size = choose(block_sizes, "block_sizes", name, layer);
  if (fit_block_size) {  // the largest size up to the chosen one that the weight's rows can be cut into
    for (; o.block_size > 1; --o.block_size) {
      try {
        (void)BlockLayout::of(layer.layer_kind(), layer.weight_shape(), o.block_size);
        break;
      } catch (const Error&) {
      }
    }
  }
  o.kmeans.n_centroids = choose(n_centroids, "n_centroids", name, layer);
  if (clamp_centroids) {
    const int64_t blocks = layer.weight_numel() / o.block_size;
    int64_t below = 1;  // the largest power of two < blocks / 4
    while (below * 2 * 4 < blocks) below *= 2;
    o.kmeans.n_centroids = std::min(o.kmeans.n_centroids, below);
  }
  o.kmeans.n_iter = n_iter;
  o.kmeans.eps = eps;
  o.kmeans.max_tentatives = max_tentatives;
  o.mean_gradient = mean_gradient;
  return o;
}

std::vector<std::string> match_layer_names(const std::vector<std::string>& names, const std::string& pattern) {
  const std::regex re = compile(pattern, "layers_to_quantize");
  std::vector<std::string> out;
  for (const std::string& name : names) {
    // A "module." prefix (a data-parallel wrapper's) may be in the pattern but not in our names.
    if (matches_from_start(re, name) || matches_from_start(re, "module." + name)) out.push_back(name);
  }
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<QuantizableLayer>>> select_stage(const Module& model,
                                                                                    const IpqConfig& config,
                                                                                    int64_t stage) {
  QN_CHECK(stage >= 0 && stage < config.num_stages(), kOp, "stage ", stage, " of a config with ", config.num_stages(),
           " stages");
  const std::string& pattern = config.layers_to_quantize[static_cast<size_t>(stage)];
  // Candidates: every module with a weight of its own (so that a pattern hitting a LayerNorm is reported,
  // not skipped). Product-quantized layers have none left and are not selected again.
  std::vector<std::string> names;
  std::map<std::string, std::shared_ptr<Module>> by_name;
  for (const auto& [name, module] : model.named_modules()) {
    for (const NamedTensor& p : module->named_parameters()) {
      if (p.name == "weight") {  // its own: a child's would read "child.weight"
        names.push_back(name);
        by_name[name] = module;
        break;
      }
    }
  }
  std::vector<std::pair<std::string, std::shared_ptr<QuantizableLayer>>> selected;
  for (const std::string& name : match_layer_names(names, pattern)) {
    auto layer = std::dynamic_pointer_cast<QuantizableLayer>(by_name[name]);
    QN_CHECK(layer != nullptr, kOp, "stage ", stage, " pattern '", pattern, "' selects '", name, "', a ",
             by_name[name]->type_name(), ", which cannot be product-quantized");
    selected.emplace_back(name, layer);
  }
  if (selected.empty()) {
    std::string some;
    for (size_t i = 0; i < names.size() && i < 4; ++i) some += (i ? ", " : "") + names[i];
    throw_error(kOp,
                detail::concat("stage ", stage, " pattern '", pattern, "' selects no layer (layer names look like ",
                               some.empty() ? "nothing: the model has no weights" : some,
                               "). A pattern with doubled backslashes in a plain YAML scalar keeps both: write ",
                               "'decoder\\.layers' in single quotes"));
  }
  return selected;
}

}  // namespace qn::nn::quant
