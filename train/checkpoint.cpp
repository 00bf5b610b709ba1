#include "train/checkpoint.h"

#include "core/safetensors.h"

namespace qn::train {
namespace {

constexpr const char* kMetadataKey = "quantnoise";
const std::string kModelPrefix = "model.";
const std::string kOptimizerPrefix = "optimizer.";

// Config keys whose values differ between the two objects (recursively, dotted).
void diff_configs(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix,
                  std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) {
        out.push_back(prefix + key + " (only in the checkpoint)");
      } else {
        diff_configs(value, b.at(key), prefix + key + ".", out);
      }
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) out.push_back(prefix + key + " (only in the expected config)");
    }
  } else if (a != b) {
    out.push_back(prefix.substr(0, prefix.size() - 1) + " (" + a.dump() + " in the checkpoint, " + b.dump() +
                  " expected)");
  }
}

std::vector<NamedTensor> strip(const std::vector<NamedTensor>& tensors, const std::string& prefix) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& t : tensors) {
    if (t.name.starts_with(prefix)) out.push_back({t.name.substr(prefix.size()), t.tensor});
  }
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer* optimizer,
                     const Generator& generator, const CheckpointInfo& info) {
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& t : model.state_dict()) tensors.push_back({kModelPrefix + t.name, t.tensor});
  if (optimizer) {
    for (NamedTensor& t : optimizer->state_dict()) tensors.push_back({kOptimizerPrefix + t.name, std::move(t.tensor)});
  }
  const nlohmann::json meta = {
      {"format_version", kCheckpointFormatVersion},
      {"model_name", info.model_name},
      {"model_config", info.model_config},
      {"num_updates", info.progress.num_updates},
      {"epoch", info.progress.epoch},
      {"data_position", info.progress.data_position},
      {"extra", info.extra},
      // 64-bit values as strings: JSON readers elsewhere may hold numbers as doubles.
      {"rng", {{"seed", std::to_string(generator.seed())}, {"offset", std::to_string(generator.offset())}}},
  };
  save_safetensors(path, tensors, {{kMetadataKey, meta.dump()}});
}

CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model, Optimizer* optimizer, Generator& generator,
                               const std::string& expected_model_name, const nlohmann::json& expected_config,
                               const std::function<void(const nlohmann::json& extra)>& prepare) {
  const SafetensorsContent content = load_safetensors(path);
  const auto found = content.metadata.find(kMetadataKey);
  QN_CHECK(found != content.metadata.end(), "load_checkpoint", "'", path, "' is not a quantnoise checkpoint (no '",
           kMetadataKey, "' metadata)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(found->second);
    const int version = meta.at("format_version").get<int>();
    QN_CHECK(version == kCheckpointFormatVersion, "load_checkpoint", "'", path, "' has format version ", version,
             "; this build reads version ", kCheckpointFormatVersion);
    const std::string name = meta.at("model_name").get<std::string>();
    QN_CHECK(name == expected_model_name, "load_checkpoint", "'", path, "' holds a ", name, " model, expected ",
             expected_model_name);
    std::vector<std::string> differences;
    diff_configs(meta.at("model_config"), expected_config, "", differences);
    if (!differences.empty()) {
      std::string listed;
      for (const std::string& d : differences) listed += (listed.empty() ? "" : "; ") + d;
      throw_error("load_checkpoint",
                  detail::concat("'", path, "' was written for another ", name, " config: ", listed));
    }
  } catch (const nlohmann::json::exception& e) {
    throw_error("load_checkpoint", detail::concat("'", path, "' has malformed metadata: ", e.what()));
  }
  const nlohmann::json extra = meta.value("extra", nlohmann::json());
  if (prepare) prepare(extra);
  // Tensors: the model strictly (all or nothing), then the optimizer.
  model.load_state_dict(strip(content.tensors, kModelPrefix), true);
  if (optimizer) optimizer->load_state_dict(strip(content.tensors, kOptimizerPrefix));
  generator.manual_seed(std::stoull(meta.at("rng").at("seed").get<std::string>()));
  generator.set_offset(std::stoull(meta.at("rng").at("offset").get<std::string>()));

  CheckpointInfo info;
  info.model_name = meta.at("model_name").get<std::string>();
  info.model_config = meta.at("model_config");
  info.progress = {meta.at("num_updates").get<int64_t>(), meta.at("epoch").get<int64_t>(),
                   meta.at("data_position").get<int64_t>()};
  info.extra = extra;
  return info;
}

}  // namespace qn::train
