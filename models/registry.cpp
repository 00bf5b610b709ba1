#include "models/registry.h"

#include <fstream>
#include <set>
#include <vector>

#include "models/efficientnet.h"
#include "models/roberta.h"
#include "models/transformer_lm.h"

namespace qn::models {
namespace {

// Applies the JSON overrides to config fields, remembering which keys it consumed.
class Overrides {
 public:
  Overrides(const nlohmann::json& json, std::string model) : json_(json), model_(std::move(model)) {
    QN_CHECK(json_.is_null() || json_.is_object(), "config", "the config for ", model_, " must be a JSON object, got ",
             json_.dump());
  }

  template <class T>
  void bind(const std::string& key, T& field) {
    known_.push_back(key);
    if (!json_.is_object() || !json_.contains(key)) return;
    const nlohmann::json& value = json_.at(key);
    const bool fits = std::is_same_v<T, bool>       ? value.is_boolean()
                      : std::is_integral_v<T>       ? value.is_number_integer()
                      : std::is_floating_point_v<T> ? value.is_number()
                                                    : value.is_array();
    QN_CHECK(fits, "config", "field '", key, "' of ", model_, " has the wrong type: ", value.dump());
    field = value.get<T>();
    used_.insert(key);
  }

  // Quant-Noise under fairseq's flag names.
  // quant_noise_scalar p > 0 selects int8 noise (quant_bits 4: int4) with rate p instead of block noise.
  void bind_quant_noise(nn::quant::QuantNoise& noise) {
    bind("quant_noise_pq", noise.p);
    bind("quant_noise_pq_block_size", noise.block_size);
    double scalar_p = 0.0;
    int64_t bits = 8;
    bind("quant_noise_scalar", scalar_p);
    bind("quant_bits", bits);
    QN_CHECK(bits == 8 || bits == 4, "config", "quant_bits of ", model_, " must be 8 or 4, got ", bits);
    if (scalar_p == 0.0) return;
    QN_CHECK(noise.p == 0.0, "config", model_, " takes either quant_noise_pq or quant_noise_scalar, not both");
    noise.p = scalar_p;
    noise.mode = bits == 4 ? nn::quant::NoiseMode::kInt4 : nn::quant::NoiseMode::kInt8;
  }

  void finish() const {
    if (!json_.is_object()) return;
    for (const auto& [key, value] : json_.items()) {
      if (used_.count(key)) continue;
      std::string known;
      for (const std::string& k : known_) known += (known.empty() ? "" : ", ") + k;
      throw_error("config", detail::concat("unknown field '", key, "' for ", model_, " (known: ", known, ")"));
    }
  }

 private:
  const nlohmann::json& json_;
  std::string model_;
  std::vector<std::string> known_;
  std::set<std::string> used_;
};

// The fields the Transformer LM and RoBERTa configs share, under the same names.
template <class Config>
void bind_transformer(Overrides& o, Config& c) {
  o.bind("vocab_size", c.vocab_size);
  o.bind("layers", c.layers);
  o.bind("dim", c.dim);
  o.bind("heads", c.heads);
  o.bind("ffn_dim", c.ffn_dim);
  o.bind("max_positions", c.max_positions);
  o.bind("padding_idx", c.padding_idx);
  o.bind("dropout", c.dropout);
  o.bind("attention_dropout", c.attention_dropout);
  o.bind("layerdrop", c.layerdrop);
  o.bind_quant_noise(c.quant_noise);
  o.bind("embedding_projection", c.embedding_projection);
}

}  // namespace

nlohmann::json load_overrides(const std::string& text) {
  if (text.empty()) return nullptr;
  const size_t first = text.find_first_not_of(" \t\n");
  if (first != std::string::npos && text[first] == '{') {
    const nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    QN_CHECK(!config.is_discarded(), "config", "the model config is not valid JSON: ", text);
    return config;
  }
  const std::string& path = text;
  std::ifstream in(path);
  QN_CHECK(in.good(), "config", "cannot read the config file ", path);
  const nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  QN_CHECK(!config.is_discarded(), "config", "the config file ", path, " is not valid JSON");
  return config;
}

nlohmann::json without_quant_noise(const std::string& name, nlohmann::json config) {
  if (!config.is_object()) return config;
  const auto rate = [&](const char* key) {
    return config.contains(key) && config.at(key).is_number() ? config.at(key).get<double>() : 0.0;
  };
  const bool noisy = rate("quant_noise_pq") > 0 || rate("quant_noise_scalar") > 0;
  for (const char* key : {"quant_noise_pq", "quant_noise_pq_block_size", "quant_noise_scalar", "quant_bits"}) {
    config.erase(key);
  }
  if (noisy && (name.starts_with("transformer_lm") || name.starts_with("roberta")))
    config["embedding_projection"] = true;
  return config;
}

BuiltModel build_model(const std::string& name, const nlohmann::json& overrides) {
  Overrides o(overrides, name);
  if (name.starts_with("transformer_lm")) {
    TransformerLMConfig c = TransformerLMConfig::named(name);
    bind_transformer(o, c);
    o.bind("normalize_before", c.normalize_before);
    o.bind("final_norm", c.final_norm);
    o.bind("activation_dropout", c.activation_dropout);
    o.bind("share_input_output_embed", c.share_input_output_embed);
    o.bind("adaptive_input", c.adaptive_input);
    o.bind("adaptive_softmax", c.adaptive_softmax);
    o.bind("cutoffs", c.cutoffs);
    o.bind("adaptive_softmax_dropout", c.adaptive_softmax_dropout);
    o.bind("tie_adaptive_weights", c.tie_adaptive_weights);
    o.bind("tie_adaptive_proj", c.tie_adaptive_proj);
    bool gelu = c.activation == FeedForwardActivation::kGelu;
    o.bind("gelu", gelu);
    c.activation = gelu ? FeedForwardActivation::kGelu : FeedForwardActivation::kRelu;
    o.finish();
    return {ModelFamily::kLanguageModel, std::make_shared<TransformerLM>(c), Device::cpu()};
  }
  if (name.starts_with("roberta")) {
    RobertaConfig c = RobertaConfig::named(name);
    bind_transformer(o, c);
    o.bind("type_vocab_size", c.type_vocab_size);
    o.bind("lm_head", c.lm_head);
    o.bind("untie_lm_head", c.untie_lm_head);
    o.bind("num_classes", c.num_classes);
    o.bind("pooler_dropout", c.pooler_dropout);
    o.finish();
    return {ModelFamily::kRoberta, std::make_shared<Roberta>(c), Device::cpu()};
  }
  if (name.starts_with("efficientnet")) {
    EfficientNetConfig c = EfficientNetConfig::named(name);
    o.bind("num_classes", c.num_classes);
    o.bind("width", c.width);
    o.bind("depth", c.depth);
    o.bind("in_channels", c.in_channels);
    o.bind("stem_stride", c.stem_stride);
    o.bind("resolution", c.resolution);
    o.bind("dropout", c.dropout);
    o.bind("drop_connect", c.drop_connect);
    o.bind("torchvision", c.torchvision);
    o.bind_quant_noise(c.quant_noise);
    o.finish();
    return {ModelFamily::kImage, std::make_shared<EfficientNet>(c), Device::cpu()};
  }
  throw_error("models", detail::concat("unknown model '", name,
                                       "' (transformer_lm_wiki103 / _small / _tiny, roberta_base / _large / _tiny, "
                                       "efficientnet_b0 .. efficientnet_b7, efficientnet_tiny)"));
}

void BuiltModel::to(Device target) {
  module->to(target);
  device = target;
}

Tensor BuiltModel::loss(const Tensor& inputs_anywhere, const Tensor& targets_anywhere) const {
  QN_CHECK(targets_anywhere.defined(), "models", "the loss needs targets");
  const Tensor inputs = inputs_anywhere.to(device), targets = targets_anywhere.to(device);
  // Each family's own loss, which forms only what the loss needs.
  switch (family) {
    case ModelFamily::kLanguageModel:
      return static_cast<TransformerLM&>(*module).loss(inputs, targets);
    case ModelFamily::kRoberta:
      return static_cast<Roberta&>(*module).loss(inputs, targets);
    case ModelFamily::kImage:
      break;
  }
  return run(inputs, targets).loss;
}

ModelOutputs BuiltModel::run(const Tensor& inputs_anywhere, const Tensor& targets_anywhere) const {
  const Tensor inputs = inputs_anywhere.to(device);
  const Tensor targets = targets_anywhere.defined() ? targets_anywhere.to(device) : targets_anywhere;
  ModelOutputs out;
  switch (family) {
    case ModelFamily::kLanguageModel: {
      auto& lm = static_cast<TransformerLM&>(*module);
      const Tensor features = lm.decoder().features(inputs);
      out.logits = lm.decoder().output(features);
      if (targets.defined()) out.loss = lm.loss_from_features(features, targets, out.logits);
      break;
    }
    case ModelFamily::kRoberta: {
      auto& roberta = static_cast<Roberta&>(*module);
      const bool mlm = roberta.config.lm_head;
      const Tensor features = roberta.features(inputs);
      out.logits = mlm ? roberta.mlm_logits(features) : roberta.class_logits(features);
      if (targets.defined()) {
        out.loss = mlm ? roberta.mlm_loss_from_logits(out.logits, targets)
                       : roberta.classification_loss_from_logits(out.logits, targets);
      }
      break;
    }
    case ModelFamily::kImage:
      out.logits = module->forward(inputs);
      if (targets.defined()) {
        QN_CHECK(targets.dtype() == DType::i64 && targets.dim() == 1 && targets.size(0) == inputs.size(0), "models",
                 "expected labels i64 (", inputs.size(0), "), got ", targets.describe());
        out.loss = cross_entropy(out.logits, targets);
      }
      break;
  }
  return out;
}

}  // namespace qn::models
