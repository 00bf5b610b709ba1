#include "train/checkpoint.h"

#include <optional>

#include "core/parse_integer.h"
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
      {"loss_scale", info.loss_scale},
      // 64-bit values as strings: JSON readers elsewhere may hold numbers as doubles.
      {"rng", {{"seed", std::to_string(generator.seed())}, {"offset", std::to_string(generator.offset())}}},
  };
  save_safetensors(path, tensors, {{kMetadataKey, meta.dump()}});
}

namespace {
// The RNG's seed and offset are stored as decimal strings (JSON numbers lose u64 precision).
uint64_t parse_u64(const std::string& text, const std::string& path, const char* what) {
  const std::optional<uint64_t> value = parse_integer<uint64_t>(text);
  QN_CHECK(value.has_value(), "load_checkpoint", "'", path, "' has a malformed ", what, " '", text, "'");
  return *value;
}
}  // namespace

CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model, Optimizer* optimizer, Generator& generator,
                               const std::string& expected_model_name, const nlohmann::json& expected_config,
                               const std::function<void(const CheckpointInfo& info)>& prepare) {
  const SafetensorsContent content = load_safetensors(path);
  const auto found = content.metadata.find(kMetadataKey);
  QN_CHECK(found != content.metadata.end(), "load_checkpoint", "'", path, "' is not a quantnoise checkpoint (no '",
           kMetadataKey, "' metadata)");
  // Everything the metadata says is read and checked before anything changes: a bad file leaves model, optimizer
  // and generator as they were.
  CheckpointInfo info;
  uint64_t seed = 0, offset = 0;
  try {
    const nlohmann::json meta = nlohmann::json::parse(found->second);
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
    info.model_name = name;
    info.model_config = meta.at("model_config");
    info.progress = {meta.at("num_updates").get<int64_t>(), meta.at("epoch").get<int64_t>(),
                     meta.at("data_position").get<int64_t>()};
    QN_CHECK(info.progress.num_updates >= 0 && info.progress.epoch >= 0 && info.progress.data_position >= 0,
             "load_checkpoint", "'", path, "' has a negative update count, epoch or data position");
    info.extra = meta.value("extra", nlohmann::json());
    info.loss_scale = meta.value("loss_scale", nlohmann::json());
    seed = parse_u64(meta.at("rng").at("seed").get<std::string>(), path, "RNG seed");
    offset = parse_u64(meta.at("rng").at("offset").get<std::string>(), path, "RNG offset");
  } catch (const nlohmann::json::exception& e) {
    throw_error("load_checkpoint", detail::concat("'", path, "' has malformed metadata: ", e.what()));
  }
  if (prepare) prepare(info);
  // Tensors: the optimizer, then the model strictly; each loads all or nothing, and the optimizer gets its old
  // state back when the model's tensors do not fit.
  std::vector<NamedTensor> previous_optimizer_state;
  if (optimizer) {
    previous_optimizer_state = optimizer->state_dict();
    optimizer->load_state_dict(strip(content.tensors, kOptimizerPrefix));
  }
  try {
    model.load_state_dict(strip(content.tensors, kModelPrefix), true);
  } catch (const Error&) {
    if (optimizer) optimizer->load_state_dict(previous_optimizer_state);
    throw;
  }
  generator.manual_seed(seed);
  generator.set_offset(offset);
  return info;
}

}  // namespace qn::train
