// iterative Product Quantization during training (docs/METHOD.md, iPQ). With S stages (one per pattern of the
// config) and max_updates updates, stage k is quantized before update k * max_updates / S — stage 0 before
// the first — so each stage gets max_updates / S updates of fine-tuning; max_updates must be divisible by S.
// A stage switch (on rank 0 only under data parallelism; see IpqScheduleOptions::cluster):
//   1. runs k-means on the current (already fine-tuned) float weights of the stage's layers,
//   2. replaces them by their PQ form (QuantizableLayer::quantize: dense weights leave the parameters),
//   3. resets the optimizer to the remaining float parameters plus the new centroids, with fresh state (the
//      LR schedule follows the global update count, as fairseq's rebuilt scheduler does).
// Fine-tuning in between is the task's own training. The stage index and each quantized layer's PQ shape are
// the hooks' checkpoint state, so a resumed run rebuilds the PQ layers before their tensors load.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nn/quant/ipq_config.h"
#include "train/trainer.h"

namespace qn::train {

// The updates before which stages 0..S-1 are quantized. Throws unless max_updates is a positive multiple
// of stages.
std::vector<int64_t> ipq_stage_updates(int64_t max_updates, int64_t stages);

struct IpqLayerReport {
  std::string name;
  int64_t block_size = 0;
  int64_t n_centroids = 0;
  double objective = 0.0;  // ||W_hat - W||_F after the last k-means iteration
  bool repair_failed = false;
};

struct IpqStageReport {
  int64_t stage = 0;
  int64_t update = 0;
  std::vector<IpqLayerReport> layers;
};

struct IpqScheduleOptions {
  int64_t max_updates = 0;
  // The optimizer's groups after a stage switch, from the model's trainable parameters. Default: one group
  // of every parameter, with the lr and weight decay of the optimizer's first group.
  std::function<std::vector<ParamGroup>(const nn::Module& model, const Optimizer& previous)> param_groups;
  Generator* generator = nullptr;  // k-means draws; nullptr: the default generator
  // false: a stage switch gives the stage's layers their PQ shapes (zero-filled) without running k-means,
  // for the ranks of a data-parallel run other than rank 0, which take rank 0's centroids and codes (the
  // Trainer broadcasts them right after the switch). Their reports carry no objective.
  bool cluster = true;
};

// Gives the layers named in a checkpoint's iPQ state (IpqSchedule::state) their PQ shapes, so that the
// checkpoint's tensors load into the model; layers already product-quantized are left as they are. Returns
// the number of stages done. Throws qn::Error on a malformed state or a layer the model does not have.
int64_t restore_pq_layers(nn::Module& model, const nlohmann::json& state);

class IpqSchedule : public TrainingHooks {
 public:
  IpqSchedule(nn::Module& model, nn::quant::IpqConfig config, IpqScheduleOptions options);

  void before_update(int64_t num_updates, Optimizer& optimizer) override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state, Optimizer& optimizer) override;

  // Quantizes the next stage now and resets optimizer (when given); what before_update does when the
  // stage's update comes.
  const IpqStageReport& quantize_next_stage(Optimizer* optimizer, int64_t update = 0);

  int64_t stages_done() const { return stages_done_; }
  const std::vector<IpqStageReport>& reports() const { return reports_; }
  const std::vector<int64_t>& stage_updates() const { return stage_updates_; }

 private:
  void reset_optimizer(Optimizer& optimizer) const;

  nn::Module& model_;
  nn::quant::IpqConfig config_;
  IpqScheduleOptions options_;
  std::vector<int64_t> stage_updates_;
  int64_t stages_done_ = 0;
  std::vector<IpqStageReport> reports_;
};

}  // namespace qn::train
