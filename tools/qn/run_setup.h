// What qn train, qn compress and qn eval share: the flags (fairseq's names), the model config they make, the
// optimizer and LR schedule, and reading a model back from a checkpoint or a compressed file.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/registry.h"
#include "nn/quant/ipq_config.h"
#include "tools/tasks/task.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/trainer.h"

namespace qn::tools {

// The model: --arch, config overrides, and the flags that are config fields.
struct ModelFlags {
  std::string arch;
  std::string model_config;  // a JSON object, inline or in a file
  double dropout = -1;       // < 0: the arch's default
  double quant_noise_pq = 0;
  int64_t quant_noise_pq_block_size = 8;
  double quant_noise_scalar = 0;
  int64_t quant_bits = 8;
};

struct OptimizerFlags {
  std::string optimizer = "adam";  // adam | adamw | sgd | nag | rmsprop
  double lr = 1e-3;
  double momentum = 0.0;
  std::string adam_betas = "(0.9, 0.999)";
  double adam_eps = 1e-8;
  double rmsprop_alpha = 0.99;  // PyTorch's defaults; EfficientNet's recipe: 0.9 and 1e-3
  double rmsprop_eps = 1e-8;
  double weight_decay = 0.0;
  std::string lr_scheduler = "fixed";  // fixed | inverse_sqrt | cosine | polynomial_decay | step
  int64_t warmup_updates = 0;
  double warmup_init_lr = -1;
  double min_lr = 0;             // cosine
  double end_learning_rate = 0;  // polynomial_decay
  double power = 1;              // polynomial_decay
  int64_t total_num_update = 0;  // polynomial_decay; 0: --max-update
  int64_t lr_step_updates = 0;   // step: updates between decays
  double lr_gamma = 0.1;         // step
};

struct LoopFlags {
  int64_t max_update = 0;
  int64_t max_epoch = 0;
  int update_freq = 1;
  bool sync_bn = false;  // several processes: BatchNorm over the whole batch (distributed/sync_batch_norm.h)
  bool detect_anomaly = false;
  bool deterministic = false;  // kernels/determinism.h
  std::string amp;             // "", bf16 or fp16
  double clip_norm = 0;
  std::string save_dir;
  std::string restore_file;
  int64_t log_interval = 100;
  int64_t save_interval_updates = 0;
  int64_t validate_interval_updates = 0;
  std::string log_file;
  bool no_progress_bar = false;
  int threads = 0;  // 0: the engine's default
  std::string device = "cpu";
};

void add_task_flags(CLI::App& cmd, tasks::TaskOptions& task, bool training);
void add_model_flags(CLI::App& cmd, ModelFlags& model);
void add_optimizer_flags(CLI::App& cmd, OptimizerFlags& optimizer);
void add_loop_flags(CLI::App& cmd, LoopFlags& loop);

// The model config: the task's defaults, then the user's JSON, then the flags that set config fields.
nlohmann::json model_config(const ModelFlags& flags, const tasks::Task& task);

std::unique_ptr<train::Optimizer> make_optimizer(const OptimizerFlags& flags, const nn::Module& model);
// Null for "fixed" without warmup (the optimizer's lr stays as set).
std::unique_ptr<train::LrSchedule> make_schedule(const OptimizerFlags& flags, int64_t max_update);

train::TrainerOptions trainer_options(const LoopFlags& loop, const tasks::Task& task);
void apply_threads(int threads);
// A training run's process-wide settings: its threads, and deterministic algorithms when asked.
void apply_loop_settings(const LoopFlags& loop);
// "cpu", "cuda", "cuda:N", "sim" or "sim:N" (the simulated accelerator, core/device.h); anything else is an error
// naming the accepted forms.
Device parse_device(const std::string& text);
inline constexpr const char* kDeviceHelp =
    "where the model computes: cpu, cuda or cuda:N (a GPU of this build), sim or sim:N (the simulated accelerator, "
    "which checks that a run keeps to one device)";

// A model saved by qn: a training checkpoint or a compressed file, with the arch and config it was built from.
struct SavedModel {
  std::string arch;
  nlohmann::json config;
  bool compressed = false;
};
SavedModel describe_saved_model(const std::string& path);
// The description stored in compressed files.
nlohmann::json model_info(const std::string& arch, const nlohmann::json& config);

// Builds the saved model (training noise off: evaluation and compression see the weights as trained) and
// loads its weights, PQ layers included.
models::BuiltModel load_saved_model(const std::string& path, const SavedModel& saved);

// An iPQ stages YAML, each of whose stages is checked to select layers of model now, rather than when the stage
// comes, possibly hours into a run.
nn::quant::IpqConfig load_ipq_stages(const std::string& path, const nn::Module& model);

}  // namespace qn::tools

namespace qn::tools {

// "loss 0.3120 | accuracy 88.12".
std::string format_metrics(const train::Metrics& metrics);
nlohmann::json metrics_json(const train::Metrics& metrics);

// Evaluates a split with the model in eval mode and no graph recording.
train::Metrics evaluate(tasks::Task& task, nn::Module& model, const std::string& split);

}  // namespace qn::tools
