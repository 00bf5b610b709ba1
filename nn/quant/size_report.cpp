#include "nn/quant/size_report.h"

#include <cstdio>
#include <set>

namespace qn::nn::quant {
namespace {

constexpr const char* kOp = "size report";

const char* float_scheme(int bits) { return bits == 32 ? "float" : bits == 8 ? "int8" : bits == 4 ? "int4" : "?"; }

std::string mib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", bytes / kMiB);
  return text;
}

}  // namespace

int code_bits(int64_t n_centroids) {
  QN_CHECK(n_centroids >= 1, kOp, "K must be positive, got ", n_centroids);
  int bits = 1;
  while ((int64_t{1} << bits) < n_centroids) ++bits;
  return bits;
}

LayerSize pq_layer_size(const std::string& name, int64_t parameters, const PqShape& shape, int centroid_bits) {
  QN_CHECK(shape.block_size > 0 && parameters > 0 && parameters % shape.block_size == 0, kOp, "'", name,
           "': block size ", shape.block_size, " does not divide its ", parameters, " weights");
  LayerSize s{name, "pq"};
  s.parameters = parameters;
  s.block_size = shape.block_size;
  s.n_centroids = shape.n_centroids;
  s.code_bytes = static_cast<double>(parameters / shape.block_size) * code_bits(shape.n_centroids) / 8.0;
  s.centroid_bytes = static_cast<double>(shape.n_centroids * shape.block_size) * centroid_bits / 8.0;
  return s;
}

SizeReport size_report(const Module& model, const SizeOptions& options) {
  QN_CHECK(options.other_bits == 32 || options.other_bits == 16 || options.other_bits == 8 || options.other_bits == 4,
           kOp, "other_bits is 32, 16, 8 or 4, got ", options.other_bits);
  QN_CHECK(options.centroid_bits == 32 || options.centroid_bits == 16 || options.centroid_bits == 8, kOp,
           "centroid_bits is 32, 16 or 8, got ", options.centroid_bits);
  SizeReport report;
  std::set<const void*> counted;  // storages already counted (tied weights)
  std::set<std::string> planned_seen;
  LayerSize rest{"(other parameters)", float_scheme(options.other_bits)};
  const double other_per_param = options.other_bits / 8.0;

  // Each module's own parameters: a quantizable layer's weight (or PQ state) is its entry; every other
  // parameter goes to the "other" pool (or to the layer's line, for its bias).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> modules = model.named_modules();
  std::vector<std::pair<std::string, const Module*>> all{{"", &model}};
  for (const auto& [name, module] : modules) all.emplace_back(name, module.get());
  for (const auto& [name, module] : all) {
    const auto* layer = dynamic_cast<const QuantizableLayer*>(module);
    std::optional<PqShape> pq;
    if (layer && layer->is_product_quantized()) {
      pq = PqShape{layer->pq().layout.block_size, layer->pq().n_centroids()};
    } else if (layer) {
      const auto plan = options.planned.find(name);
      if (plan != options.planned.end()) {
        pq = plan->second;
        planned_seen.insert(name);
      }
    }
    LayerSize line = pq ? pq_layer_size(name, layer->weight_numel(), *pq, options.centroid_bits) : LayerSize{};
    if (pq) report.parameters += line.parameters;
    for (const NamedTensor& p : module->named_parameters()) {
      if (p.name.find('.') != std::string::npos) continue;  // a child's, counted there
      if (pq && (p.name == "weight" || p.name == "centroids")) continue;
      if (!counted.insert(p.tensor.device_data()).second) continue;
      const int64_t n = p.tensor.numel();
      report.parameters += n;
      (pq ? line : rest).parameters += n;
      (pq ? line : rest).other_bytes += static_cast<double>(n) * other_per_param;
    }
    if (pq) report.layers.push_back(line);
  }
  for (const auto& [name, shape] : options.planned) {
    QN_CHECK(planned_seen.count(name), kOp, "the plan names '", name, "', which is not a float quantizable layer");
  }
  if (rest.parameters > 0) report.layers.push_back(rest);
  report.total_up();
  return report;
}

std::map<std::string, PqShape> plan_ipq(const Module& model, const IpqConfig& config) {
  std::map<std::string, PqShape> plan;
  for (int64_t stage = 0; stage < config.num_stages(); ++stage) {
    for (const auto& [name, layer] : select_stage(model, config, stage)) {
      const PqOptions o = config.options_for(name, *layer);
      plan[name] = {o.block_size, o.kmeans.n_centroids};
    }
  }
  return plan;
}

void SizeReport::total_up() {
  float_bytes = 4.0 * static_cast<double>(parameters);
  code_bytes = centroid_bytes = other_bytes = 0.0;
  for (const LayerSize& s : layers) {
    code_bytes += s.code_bytes;
    centroid_bytes += s.centroid_bytes;
    other_bytes += s.other_bytes;
  }
}

nlohmann::json SizeReport::to_json() const {
  nlohmann::json layers_json = nlohmann::json::array();
  for (const LayerSize& s : layers) {
    nlohmann::json entry = {{"name", s.name},
                            {"scheme", s.scheme},
                            {"parameters", s.parameters},
                            {"code_bytes", s.code_bytes},
                            {"centroid_bytes", s.centroid_bytes},
                            {"other_bytes", s.other_bytes},
                            {"bytes", s.bytes()}};
    if (s.scheme == "pq") {
      entry["block_size"] = s.block_size;
      entry["n_centroids"] = s.n_centroids;
    }
    layers_json.push_back(entry);
  }
  return {{"parameters", parameters},
          {"float_bytes", float_bytes},
          {"code_bytes", code_bytes},
          {"centroid_bytes", centroid_bytes},
          {"other_bytes", other_bytes},
          {"total_bytes", total_bytes()},
          {"float_mib", float_bytes / kMiB},
          {"total_mib", total_bytes() / kMiB},
          {"ratio", ratio()},
          {"layers", layers_json}};
}

std::string SizeReport::table() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-48s %-6s %12s %6s %6s %12s\n", "layer", "scheme", "parameters", "bs", "K", "MiB");
  out += line;
  for (const LayerSize& s : layers) {
    std::snprintf(line, sizeof line, "%-48s %-6s %12lld %6s %6s %12s\n", s.name.c_str(), s.scheme.c_str(),
                  static_cast<long long>(s.parameters), s.scheme == "pq" ? std::to_string(s.block_size).c_str() : "-",
                  s.scheme == "pq" ? std::to_string(s.n_centroids).c_str() : "-", mib(s.bytes()).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line,
                "float %s MiB (%lld parameters) -> %s MiB (codes %s + centroids %s + other %s): x%.2f\n",
                mib(float_bytes).c_str(), static_cast<long long>(parameters), mib(total_bytes()).c_str(),
                mib(code_bytes).c_str(), mib(centroid_bytes).c_str(), mib(other_bytes).c_str(), ratio());
  out += line;
  return out;
}

}  // namespace qn::nn::quant
