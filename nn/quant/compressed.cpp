#include "nn/quant/compressed.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/safetensors.h"
#include "nn/quant/scalar.h"
#include "nn/quant/size_report.h"

namespace qn::nn::quant {
namespace {

constexpr const char* kOp = "compressed model";

void check_supported(const CompressOptions& o) {
  QN_CHECK(o.centroid_bits == 16 || o.centroid_bits == 8, kOp, "centroids are stored at 16 or 8 bits, got ",
           o.centroid_bits);
  QN_CHECK(o.other_bits == 32 || o.other_bits == 8 || o.other_bits == 4, kOp,
           "other parameters are stored at 32, 8 or 4 bits, got ", o.other_bits);
}

// N-bit affine codes of x (any float dtype), clamp(round(x / s + z), 0, qmax) in f32 with round half to even,
// and their values (code - z) s as f32.
Tensor scalar_codes(const Tensor& x, const QParams& q) {
  const Tensor values = x.detach().to(Device::cpu()).to(DType::f32).contiguous();  // a file is written on the host
  Tensor codes = empty({values.numel()}, DType::i64);
  const float* in = values.data_ptr<float>();
  int64_t* out = codes.data_ptr<int64_t>();
  const float inverse = 1.0f / q.scale[0];
  const auto qmax = static_cast<float>(q.qmax());
  for (int64_t i = 0; i < values.numel(); ++i) {
    const float code = std::nearbyint(in[i] * inverse + static_cast<float>(q.zero_point[0]));
    out[i] = static_cast<int64_t>(std::clamp(code, 0.0f, qmax));
  }
  return codes;
}

Tensor dequantize_codes(const Tensor& codes, const Shape& shape, float scale, int32_t zero_point) {
  Tensor out = empty(shape, DType::f32);
  const Tensor c = codes.contiguous();
  const int64_t* in = c.data_ptr<int64_t>();
  float* values = out.data_ptr<float>();
  for (int64_t i = 0; i < out.numel(); ++i) values[i] = static_cast<float>(in[i] - zero_point) * scale;
  return out;
}

float checked_scale(const nlohmann::json& value, const std::string& path) {
  const auto scale = value.get<float>();
  QN_CHECK(std::isfinite(scale) && scale > 0, kOp, "'", path, "' has a quantization scale of ", scale);
  return scale;
}

int32_t checked_zero_point(const nlohmann::json& value, int bits, const std::string& path) {
  const auto zero_point = value.get<int64_t>();
  QN_CHECK(zero_point >= 0 && zero_point < (int64_t{1} << bits), kOp, "'", path, "' has a ", bits,
           "-bit zero point of ", zero_point);
  return static_cast<int32_t>(zero_point);
}

nlohmann::json shape_json(const Shape& shape) {
  nlohmann::json out = nlohmann::json::array();
  for (int64_t d : shape) out.push_back(d);
  return out;
}

// "a.b.centroids" -> is it the PQ state of layer "a.b"?
bool is_pq_state(const std::string& tensor, const std::map<std::string, std::shared_ptr<QuantizableLayer>>& layers) {
  const size_t dot = tensor.rfind('.');
  if (dot == std::string::npos) return false;
  const std::string leaf = tensor.substr(dot + 1);
  return (leaf == "centroids" || leaf == "assignments" || leaf == "counts") && layers.count(tensor.substr(0, dot));
}

}  // namespace

std::vector<uint8_t> pack_codes(const Tensor& codes, int bits) {
  QN_CHECK(bits >= 1 && bits <= 32, kOp, "code width must lie in [1, 32], got ", bits);
  const Tensor c = codes.to_host().to(DType::i64).contiguous();  // a file is written on the host
  const int64_t n = c.numel();
  std::vector<uint8_t> packed(static_cast<size_t>((n * bits + 7) / 8), 0);
  const int64_t* values = c.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto v = static_cast<uint64_t>(values[i]);
    QN_CHECK(values[i] >= 0 && (v >> bits) == 0, kOp, "code ", values[i], " does not fit in ", bits, " bits");
    const int64_t first_bit = i * bits;
    for (int b = 0; b < bits; ++b) {
      if ((v >> b) & 1u) packed[static_cast<size_t>((first_bit + b) / 8)] |= uint8_t(1u << ((first_bit + b) % 8));
    }
  }
  return packed;
}

Tensor unpack_codes(std::span<const uint8_t> packed, int64_t count, int bits, int64_t n_centroids) {
  QN_CHECK(bits >= 1 && bits <= 32 && count >= 0, kOp, "bad code layout: ", count, " codes of ", bits, " bits");
  QN_CHECK(static_cast<int64_t>(packed.size()) == (count * bits + 7) / 8, kOp, count, " codes of ", bits, " bits take ",
           (count * bits + 7) / 8, " bytes, the file has ", packed.size());
  Tensor out = empty({count}, DType::i64);
  int64_t* values = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    uint64_t v = 0;
    const int64_t first_bit = i * bits;
    for (int b = 0; b < bits; ++b) {
      v |= uint64_t((packed[static_cast<size_t>((first_bit + b) / 8)] >> ((first_bit + b) % 8)) & 1u) << b;
    }
    QN_CHECK(static_cast<int64_t>(v) < n_centroids, kOp, "code ", v, " at block ", i,
             " names no centroid (K = ", n_centroids, ")");
    values[i] = static_cast<int64_t>(v);
  }
  return out;
}

CompressedModel encode_compressed(const Module& model, const CompressOptions& options,
                                  const nlohmann::json& model_info) {
  check_supported(options);
  NoGradGuard no_grad;
  const auto layers = quantizable_layers(model, true);
  CompressedModel out;
  nlohmann::json layers_json = nlohmann::json::array();
  for (const auto& [name, layer] : layers) {
    const PqWeight& pq = layer->pq();
    out.file_tensors.push_back(
        {name + ".codes", from_vector<uint8_t>(pack_codes(pq.assignments, code_bits(pq.n_centroids())))});
    nlohmann::json entry = {{"name", name},
                            {"type", layer->type_name()},
                            {"block_size", pq.layout.block_size},
                            {"n_centroids", pq.n_centroids()},
                            {"num_blocks", pq.layout.num_blocks()},
                            {"weight_shape", shape_json(layer->weight_shape())},
                            {"mean_gradient", pq.mean_gradient}};
    Tensor stored;
    if (options.centroid_bits == 16) {
      const Tensor half = pq.centroids.detach().to(DType::f16);
      out.file_tensors.push_back({name + ".centroids", half});
      stored = half.to(pq.centroids.dtype());
    } else {
      const QParams q = observe(pq.centroids.detach(), 8, Observer::kMinMax);
      const Tensor codes = scalar_codes(pq.centroids, q);
      out.file_tensors.push_back({name + ".centroids", codes.to(DType::u8).reshape(pq.centroids.shape())});
      stored = dequantize_codes(codes, pq.centroids.shape(), q.scale[0], q.zero_point[0]).to(pq.centroids.dtype());
      entry["centroid_scale"] = q.scale[0];
      entry["centroid_zero_point"] = q.zero_point[0];
    }
    out.stored_values.push_back({name + ".centroids", stored});
    layers_json.push_back(entry);
  }
  // Which parameters are the weights of (float) quantizable layers: they take the histogram observer.
  std::set<std::string> layer_weights;
  for (const auto& [name, layer] : quantizable_layers(model)) layer_weights.insert(name + ".weight");
  std::set<std::string> parameters;
  for (const NamedTensor& t : model.named_parameters()) parameters.insert(t.name);

  nlohmann::json scalar = nlohmann::json::array();
  for (const NamedTensor& t : model.state_dict()) {
    if (is_pq_state(t.name, layers)) continue;
    const bool coded = options.other_bits < 32 && parameters.count(t.name) && is_floating(t.tensor.dtype());
    if (!coded) {
      out.file_tensors.push_back({t.name, t.tensor.detach()});
      continue;
    }
    const Observer observer = layer_weights.count(t.name) ? Observer::kHistogram : Observer::kMinMax;
    const QParams q = observe(t.tensor.detach(), options.other_bits, observer);
    const Tensor codes = scalar_codes(t.tensor, q);
    out.file_tensors.push_back({t.name, from_vector<uint8_t>(pack_codes(codes, options.other_bits))});
    out.stored_values.push_back(
        {t.name, dequantize_codes(codes, t.tensor.shape(), q.scale[0], q.zero_point[0]).to(t.tensor.dtype())});
    scalar.push_back({{"name", t.name},
                      {"bits", options.other_bits},
                      {"shape", shape_json(t.tensor.shape())},
                      {"scale", q.scale[0]},
                      {"zero_point", q.zero_point[0]}});
  }
  nlohmann::json buffers = nlohmann::json::array();
  for (const NamedTensor& t : model.named_buffers()) {
    if (!is_pq_state(t.name, layers)) buffers.push_back(t.name);
  }
  out.metadata = {{"format_version", kCompressedFormatVersion},
                  {"centroid_bits", options.centroid_bits},
                  {"other_bits", options.other_bits},
                  {"pq_layers", layers_json},
                  {"scalar", scalar},
                  {"buffers", buffers},
                  {"model", model_info}};
  return out;
}

void round_to_storage(Module& model, const CompressedModel& encoded) {
  NoGradGuard no_grad;
  std::map<std::string, Tensor> state;
  for (const NamedTensor& t : model.state_dict()) state.emplace(t.name, t.tensor);
  for (const NamedTensor& t : encoded.stored_values) {
    const auto found = state.find(t.name);
    QN_CHECK(found != state.end() && found->second.shape() == t.tensor.shape(), kOp, "the encoded tensor '", t.name,
             "' does not fit this model");
    found->second.copy_(t.tensor);
  }
}

void save_compressed(const std::string& path, const CompressedModel& encoded) {
  save_safetensors(path, encoded.file_tensors, {{kCompressedMetadataKey, encoded.metadata.dump()}});
}

void round_to_storage(Module& model, const CompressOptions& options) {
  round_to_storage(model, encode_compressed(model, options));
}

void save_compressed(const std::string& path, const Module& model, const CompressOptions& options,
                     const nlohmann::json& model_info) {
  save_compressed(path, encode_compressed(model, options, model_info));
}

SizeReport file_size_report(const std::string& path) {
  const SafetensorsContent content = load_safetensors(path);
  SizeReport report;
  std::set<std::string> skip;
  LayerSize rest{"(other parameters)", "float"};
  std::map<std::string, std::pair<int, int64_t>> scalar_coded;  // by name: bits and entries
  const auto found = content.metadata.find(kCompressedMetadataKey);
  if (found != content.metadata.end()) {
    try {
      const nlohmann::json meta = nlohmann::json::parse(found->second);
      const int centroid_bits = meta.at("centroid_bits").get<int>();
      for (const nlohmann::json& entry : meta.value("scalar", nlohmann::json::array())) {
        int64_t entries = 1;
        for (const nlohmann::json& d : entry.at("shape")) entries *= d.get<int64_t>();
        scalar_coded[entry.at("name").get<std::string>()] = {entry.at("bits").get<int>(), entries};
      }
      for (const nlohmann::json& entry : meta.at("pq_layers")) {
        LayerSize s{entry.at("name").get<std::string>(), "pq"};
        s.parameters = 1;
        for (const nlohmann::json& d : entry.at("weight_shape")) s.parameters *= d.get<int64_t>();
        s.block_size = entry.at("block_size").get<int64_t>();
        s.n_centroids = entry.at("n_centroids").get<int64_t>();
        QN_CHECK(s.block_size > 0 && s.parameters > 0 && s.parameters % s.block_size == 0, kOp, "'", path, "': layer '",
                 s.name, "' has an impossible shape");
        s.code_bytes = static_cast<double>(s.parameters / s.block_size) * code_bits(s.n_centroids) / 8.0;
        s.centroid_bytes = static_cast<double>(s.n_centroids * s.block_size) * centroid_bits / 8.0;
        report.parameters += s.parameters;
        report.layers.push_back(s);
        skip.insert(s.name + ".codes");
        skip.insert(s.name + ".centroids");
      }
      for (const nlohmann::json& name : meta.at("buffers")) skip.insert(name.get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      throw_error(kOp, detail::concat("'", path, "' has malformed metadata: ", e.what()));
    }
  }
  const bool checkpoint = content.metadata.count("quantnoise") > 0;
  for (const NamedTensor& t : content.tensors) {
    if (skip.count(t.name)) continue;
    const auto coded = scalar_coded.find(t.name);
    if (coded != scalar_coded.end()) {  // packed codes: count the entries they stand for
      const auto [bits, entries] = coded->second;
      rest.parameters += entries;
      rest.other_bytes += static_cast<double>(entries) * bits / 8.0;
      rest.scheme = bits == 8 ? "int8" : "int4";
      continue;
    }
    if (!is_floating(t.tensor.dtype())) continue;
    if (checkpoint && t.name.rfind("model.", 0) != 0) continue;  // optimizer state
    const bool statistics = t.name.ends_with("running_mean") || t.name.ends_with("running_var");
    if (found == content.metadata.end() && statistics) continue;
    rest.parameters += t.tensor.numel();
    rest.other_bytes += 4.0 * static_cast<double>(t.tensor.numel());
  }
  report.parameters += rest.parameters;
  if (rest.parameters > 0) report.layers.push_back(rest);
  report.total_up();
  return report;
}

CompressedInfo load_compressed(const std::string& path, Module& model) {
  const SafetensorsContent content = load_safetensors(path);
  const auto found = content.metadata.find(kCompressedMetadataKey);
  QN_CHECK(found != content.metadata.end(), kOp, "'", path, "' is not a quantnoise compressed model (no '",
           kCompressedMetadataKey, "' metadata)");
  CompressedInfo info;
  const auto quantizable = quantizable_layers(model);
  std::set<std::string> pq_tensors;
  std::map<std::string, Tensor> scalar_values;  // decoded scalar-coded tensors
  try {
    const nlohmann::json meta = nlohmann::json::parse(found->second);
    const int version = meta.at("format_version").get<int>();
    QN_CHECK(version == kCompressedFormatVersion, kOp, "'", path, "' has format version ", version,
             "; this build reads version ", kCompressedFormatVersion);
    info.options = {meta.at("centroid_bits").get<int>(), meta.at("other_bits").get<int>()};
    check_supported(info.options);
    info.model_info = meta.at("model");
    for (const nlohmann::json& entry : meta.at("pq_layers")) {
      const auto name = entry.at("name").get<std::string>();
      const auto layer = quantizable.find(name);
      QN_CHECK(layer != quantizable.end(), kOp, "'", path, "' has PQ layer '", name,
               "', which is not a quantizable layer of this model");
      const auto block_size = entry.at("block_size").get<int64_t>();
      const auto k = entry.at("n_centroids").get<int64_t>();
      QN_CHECK(k >= 1 && k <= (int64_t{1} << 24), kOp, "'", path, "': layer '", name, "' has K = ", k);
      if (!layer->second->is_product_quantized()) {
        layer->second->make_product_quantized(block_size, k, entry.at("mean_gradient").get<bool>());
      }
      const PqWeight& pq = layer->second->pq();
      QN_CHECK(pq.layout.block_size == block_size && pq.n_centroids() == k &&
                   pq.layout.num_blocks() == entry.at("num_blocks").get<int64_t>(),
               kOp, "'", path, "': layer '", name, "' does not fit this model's layer");
      const Tensor& centroids = content.at(name + ".centroids");
      const DType centroid_dtype = info.options.centroid_bits == 16 ? DType::f16 : DType::u8;
      QN_CHECK(centroids.dtype() == centroid_dtype && centroids.shape() == pq.centroids.shape(), kOp, "'", path,
               "': ", name, ".centroids is ", centroids.describe(), ", expected ", dtype_name(centroid_dtype), " ",
               pq.centroids.shape());
      const Tensor& packed = content.at(name + ".codes");
      QN_CHECK(packed.dtype() == DType::u8 && packed.dim() == 1, kOp, "'", path, "': ", name, ".codes is ",
               packed.describe(), ", expected u8 bytes");
      const Tensor bytes = packed.contiguous();
      const Tensor codes = unpack_codes({bytes.data_ptr<uint8_t>(), static_cast<size_t>(bytes.numel())},
                                        pq.layout.num_blocks(), code_bits(k), k);
      PqCodebook book;
      book.layout = pq.layout;
      if (info.options.centroid_bits == 16) {
        book.centroids = centroids.to(pq.centroids.dtype());
      } else {
        const Tensor codes8 = centroids.to(DType::i64);
        book.centroids = dequantize_codes(codes8, centroids.shape(), checked_scale(entry.at("centroid_scale"), path),
                                          checked_zero_point(entry.at("centroid_zero_point"), 8, path))
                             .to(pq.centroids.dtype());
      }
      book.assignments = codes;
      book.counts = from_vector<int64_t>(count_per_cluster(codes, k));
      layer->second->set_codebook(book, pq.mean_gradient);
      pq_tensors.insert(name + ".codes");
      pq_tensors.insert(name + ".centroids");
      ++info.pq_layers;
    }
    for (const nlohmann::json& entry : meta.value("scalar", nlohmann::json::array())) {
      const auto name = entry.at("name").get<std::string>();
      const int bits = entry.at("bits").get<int>();
      QN_CHECK(bits == info.options.other_bits, kOp, "'", path, "': '", name, "' has ", bits, "-bit codes, the file ",
               info.options.other_bits);
      Shape shape;
      int64_t numel = 1;
      for (const nlohmann::json& d : entry.at("shape")) {
        const auto size = d.get<int64_t>();
        QN_CHECK(size >= 0 && size <= (int64_t{1} << 40) / std::max<int64_t>(numel, 1), kOp, "'", path, "': '", name,
                 "' has an impossible shape");
        shape.push_back(size);
        numel *= size;
      }
      const Tensor& packed = content.at(name);
      QN_CHECK(packed.dtype() == DType::u8 && packed.dim() == 1, kOp, "'", path, "': '", name, "' is ",
               packed.describe(), ", expected u8 codes");
      const Tensor bytes = packed.contiguous();
      const Tensor codes = unpack_codes({bytes.data_ptr<uint8_t>(), static_cast<size_t>(bytes.numel())}, numel, bits,
                                        int64_t{1} << bits);
      scalar_values[name] = dequantize_codes(codes, shape, checked_scale(entry.at("scale"), path),
                                             checked_zero_point(entry.at("zero_point"), bits, path));
    }
  } catch (const nlohmann::json::exception& e) {
    throw_error(kOp, detail::concat("'", path, "' has malformed metadata: ", e.what()));
  }
  // Everything else loads strictly: the model's state less the PQ tensors rebuilt above.
  const auto layers = quantizable_layers(model, true);
  std::vector<NamedTensor> rest;
  for (const NamedTensor& t : content.tensors) {
    if (pq_tensors.count(t.name)) continue;
    const auto decoded = scalar_values.find(t.name);
    rest.push_back(decoded == scalar_values.end() ? t : NamedTensor{t.name, decoded->second});
  }
  std::vector<NamedTensor> expected_rest;
  for (const NamedTensor& t : model.state_dict()) {
    if (!is_pq_state(t.name, layers)) expected_rest.push_back(t);
  }
  std::set<std::string> have;
  for (const NamedTensor& t : rest) have.insert(t.name);
  for (const NamedTensor& t : expected_rest) {
    QN_CHECK(have.count(t.name), kOp, "'", path, "' lacks '", t.name, "'");
  }
  QN_CHECK(rest.size() == expected_rest.size(), kOp, "'", path, "' holds ", rest.size(),
           " tensors besides the PQ layers; this model has ", expected_rest.size());
  std::vector<NamedTensor> full_state = rest;
  for (const auto& [name, layer] : layers) {
    full_state.push_back({name + ".centroids", layer->pq().centroids});
    full_state.push_back({name + ".assignments", layer->pq().assignments});
    full_state.push_back({name + ".counts", layer->pq().counts});
  }
  model.load_state_dict(full_state, true);
  return info;
}

}  // namespace qn::nn::quant
