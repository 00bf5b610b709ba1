// Checkpoints: one safetensors file with everything a run needs to continue exactly —
//   "model.<name>"      the module's state dict
//   "optimizer.<name>"  the optimizer's state (moments, step counts)
// and, in the file's metadata under "quantnoise", a JSON block: the format version, the model's name and
// config, the update count, the data position and the RNG stream position (seed, offset). Writing is
// atomic (temporary file, fsync, rename): a run killed mid-write leaves the previous checkpoint intact.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/generator.h"
#include "nn/module.h"
#include "train/optimizer.h"

namespace qn::train {

inline constexpr int kCheckpointFormatVersion = 1;

struct TrainingProgress {
  int64_t num_updates = 0;
  int64_t epoch = 0;
  int64_t data_position = 0;  // batches consumed in the current epoch
};

struct CheckpointInfo {
  std::string model_name;
  nlohmann::json model_config;  // what the model was built from; must match on load
  TrainingProgress progress;
  nlohmann::json extra = nullptr;       // state of whatever else shapes the run (the iPQ stage); null when none
  nlohmann::json loss_scale = nullptr;  // the dynamic loss scaler's state (train/loss_scaler.h); null when none
};

void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer* optimizer,
                     const Generator& generator, const CheckpointInfo& info);

// Restores model, optimizer (when given) and generator in place and returns the stored info. Throws
// qn::Error, changing nothing, when the file's format version, model name or config differ from expected
// (naming each differing config key) or its tensors do not fit the model. prepare, when given, is called
// with the stored info after the metadata is checked and before any tensor loads: to check the state it carries
// (an error there changes nothing either) and to bring the model to the shapes it was saved with (layers
// product-quantized by earlier iPQ stages).
CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model, Optimizer* optimizer, Generator& generator,
                               const std::string& expected_model_name, const nlohmann::json& expected_config,
                               const std::function<void(const CheckpointInfo& info)>& prepare = {});

}  // namespace qn::train
