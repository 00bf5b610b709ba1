// qn train DATA --task T --arch A [flags]: trains a model with fairseq's flag names (qn train --help lists
// them), Quant-Noise (--quant-noise-pq, --quant-noise-scalar) and iPQ stages during training
// (--quantization-config-path). Checkpoints, the JSONL log and resume live in --save-dir. Every flag can also
// come from a config file: --config run.toml holds `lr = 0.002` lines (TOML or INI, flag names without dashes).
#include <filesystem>
#include <iostream>

#include "core/generator.h"
#include "core/safetensors.h"
#include "nn/quant/ipq_config.h"
#include "tools/qn/blas_core.h"
#include "tools/qn/commands.h"
#include "tools/qn/run_setup.h"
#include "train/distributed/process_group.h"
#include "train/distributed/sync_batch_norm.h"
#include "train/ipq.h"

namespace qn::tools {
namespace {

struct TrainArgs {
  tasks::TaskOptions task;
  ModelFlags model;
  OptimizerFlags optimizer;
  LoopFlags loop;
  std::string quantization_config;
};

// Loads the tensors of path (a checkpoint's "model." tensors, or a plain state dict) whose name and shape
// match the model's; the rest keep their initialization (a new classification head when fine-tuning).
void restore_weights(const std::string& path, nn::Module& model, std::ostream& out) {
  QN_CHECK(std::filesystem::is_regular_file(path), "train", "no --restore-file at '", path, "'");
  const SafetensorsContent content = load_safetensors(path);
  const bool checkpoint = content.metadata.count("quantnoise") > 0;
  std::map<std::string, Shape> wanted;
  for (const NamedTensor& t : model.state_dict()) wanted.emplace(t.name, t.tensor.shape());
  std::vector<NamedTensor> matching;
  int64_t skipped = 0;
  for (const NamedTensor& t : content.tensors) {
    if (checkpoint && !t.name.starts_with("model.")) continue;
    const std::string name = checkpoint ? t.name.substr(6) : t.name;
    const auto found = wanted.find(name);
    if (found != wanted.end() && found->second == t.tensor.shape()) {
      matching.push_back({name, t.tensor});
    } else {
      ++skipped;
    }
  }
  QN_CHECK(!matching.empty(), "train", "--restore-file '", path, "' holds no tensor of this model");
  model.load_state_dict(matching, false);
  out << "restored " << matching.size() << " of the model's " << wanted.size() << " tensors from " << path;
  if (skipped > 0) out << " (" << skipped << " tensors of the file not used)";
  out << "\n";
}

void run(const TrainArgs& args) {
  apply_loop_settings(args.loop);
  note_replaced_blas_core();
  manual_seed(args.task.seed);
  std::unique_ptr<tasks::Task> task = tasks::make_task(args.task);
  const nlohmann::json config = model_config(args.model, *task);
  models::BuiltModel built = models::build_model(args.model.arch, config);
  // One device per process: a bare "cuda" (or "sim") under a launcher is the process's local rank's.
  Device device = parse_device(args.loop.device);
  if (args.loop.device == "cuda" || args.loop.device == "sim") {
    device.index = distributed::launch_environment().local_rank;
  }
  built.to(device);
  task->set_model(built);
  nn::Module& model = *built.module;

  // Under mpirun, one rank of a data-parallel run (train/trainer.h), over NCCL on a GPU (a group of one
  // included); otherwise the group of one.
  const std::unique_ptr<distributed::ProcessGroup> group = distributed::make_process_group(device);
  if (args.loop.sync_bn) {
    QN_CHECK(distributed::synchronize_batch_norm(model, group.get()) > 0, "train", "--sync-bn: ", args.model.arch,
             " has no BatchNorm layer");
  }
  std::unique_ptr<train::IpqSchedule> ipq;
  if (!args.quantization_config.empty()) {
    QN_CHECK(args.loop.max_update > 0, "train",
             "--quantization-config-path needs --max-update (split over the stages)");
    const nn::quant::IpqConfig stages = load_ipq_stages(args.quantization_config, model);
    train::IpqScheduleOptions o;
    o.max_updates = args.loop.max_update;
    o.cluster = group->rank() == 0;  // the other ranks take rank 0's centroids and codes
    ipq = std::make_unique<train::IpqSchedule>(model, stages, o);
  }
  train::TrainerOptions options = trainer_options(args.loop, *task);
  options.process_group = group.get();
  const bool resuming =
      !args.loop.save_dir.empty() &&
      std::filesystem::exists(std::filesystem::path(args.loop.save_dir) / "checkpoint_last.safetensors");
  if (!args.loop.restore_file.empty() && !resuming) restore_weights(args.loop.restore_file, model, std::cerr);

  std::unique_ptr<train::Optimizer> optimizer = make_optimizer(args.optimizer, model);
  std::unique_ptr<train::LrSchedule> schedule = make_schedule(args.optimizer, args.loop.max_update);
  train::Trainer trainer(model, *optimizer, schedule.get(), default_generator(), *task, {args.model.arch, config, {}},
                         options);
  if (ipq) trainer.set_hooks(ipq.get());
  const train::TrainingResult result = trainer.fit();
  if (group->rank() != 0) return;
  std::cout << (result.outcome == train::TrainingOutcome::kInterrupted ? "interrupted" : "done") << " after "
            << result.progress.num_updates << " updates";
  if (!result.last_eval.empty())
    std::cout << ": " << task->validation_split() << " " << format_metrics(result.last_eval);
  if (!result.last_checkpoint.empty()) std::cout << "; checkpoint " << result.last_checkpoint;
  std::cout << "\n";
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a model (fairseq's flag names; --config FILE for a config file)");
  static TrainArgs args;
  cmd->set_config("--config", "", "read flags from a TOML/INI file (flag names without dashes: lr = 0.002)");
  add_task_flags(*cmd, args.task, true);
  add_model_flags(*cmd, args.model);
  add_optimizer_flags(*cmd, args.optimizer);
  add_loop_flags(*cmd, args.loop);
  cmd->add_option("--quantization-config-path", args.quantization_config,
                  "iPQ during training: a YAML of stages (fairseq's schema); --max-update is split over them");
  cmd->callback([] { run(args); });
}

}  // namespace qn::tools
