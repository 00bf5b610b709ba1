// qn compress CHECKPOINT DATA --task T --out FILE: a trained model made small.
//   iPQ         --quantization-config-path stages.yaml [--max-update N]: each stage's layers product-quantized
//               in turn, with N updates of fine-tuning on the task's training data split over the stages
//               (docs/METHOD.md, iPQ; the optimizer and schedule flags are qn train's)
//   int8/int4   --other-bits 8|4: every parameter outside PQ layers stored as 8- or 4-bit affine codes
//   iPQ & int8  both, with --centroid-bits 8
// The model is then rounded to exactly what the file stores, evaluated on --valid-subset, and written; the
// size report and the metrics are printed (--json: as JSON). qn eval of the file gives the same metrics.
#include <filesystem>
#include <iostream>

#include "core/generator.h"
#include "nn/quant/compressed.h"
#include "nn/quant/ipq_config.h"
#include "tools/qn/blas_core.h"
#include "tools/qn/commands.h"
#include "tools/qn/run_setup.h"
#include "train/ipq.h"

namespace qn::tools {
namespace {

struct CompressArgs {
  std::string checkpoint, out, quantization_config, split = "valid";
  tasks::TaskOptions task;
  OptimizerFlags optimizer;
  LoopFlags loop;
  nn::quant::CompressOptions storage;
  bool json = false;
};

// The config the checkpoint's model is built with here: its own, Quant-Noise off (as load_saved_model builds it).
nlohmann::json built_config(const SavedModel& saved) { return models::without_quant_noise(saved.arch, saved.config); }

// The iPQ stages, with fine-tuning between them when --max-update is given.
void product_quantize(const CompressArgs& args, const SavedModel& saved, const models::BuiltModel& built,
                      tasks::Task& task) {
  nn::Module& model = *built.module;
  const nn::quant::IpqConfig stages = load_ipq_stages(args.quantization_config, model);
  train::IpqScheduleOptions o;
  o.max_updates = args.loop.max_update;
  if (args.loop.max_update == 0) {  // quantize every stage at once, no fine-tuning
    o.max_updates = stages.num_stages();
    train::IpqSchedule ipq(model, stages, o);
    while (ipq.stages_done() < stages.num_stages()) ipq.quantize_next_stage(nullptr);
    return;
  }
  train::IpqSchedule ipq(model, stages, o);
  std::unique_ptr<train::Optimizer> optimizer = make_optimizer(args.optimizer, model);
  std::unique_ptr<train::LrSchedule> schedule = make_schedule(args.optimizer, args.loop.max_update);
  train::TrainerOptions options = trainer_options(args.loop, task);
  options.eval_each_epoch = false;  // the compressed model is evaluated once, at the end
  options.best_metric.clear();
  train::Trainer trainer(model, *optimizer, schedule.get(), default_generator(), task,
                         {saved.arch, built_config(saved), {}}, options);
  trainer.set_hooks(&ipq);
  const train::TrainingResult result = trainer.fit();
  QN_CHECK(result.outcome == train::TrainingOutcome::kFinished, "compress",
           "fine-tuning was interrupted; nothing written (run again with the same --save-dir to resume)");
}

void run(const CompressArgs& args) {
  QN_CHECK(!args.quantization_config.empty() || args.storage.other_bits < 32, "compress",
           "nothing to do: give --quantization-config-path (iPQ) and/or --other-bits 8|4 (int8/int4)");
  QN_CHECK(args.storage.centroid_bits == 16 || !args.quantization_config.empty(), "compress",
           "--centroid-bits applies to iPQ's centroids: give --quantization-config-path");
  QN_CHECK(!std::filesystem::is_directory(args.out), "compress", "--out '", args.out, "' is a directory");
  apply_loop_settings(args.loop);
  note_replaced_blas_core();
  manual_seed(args.task.seed);
  const SavedModel saved = describe_saved_model(args.checkpoint);
  QN_CHECK(!saved.compressed, "compress", "'", args.checkpoint, "' is already compressed; give the trained checkpoint");
  std::unique_ptr<tasks::Task> task = tasks::make_task(args.task);
  (void)task->model_defaults(saved.arch);  // checks that the task takes this kind of model
  models::BuiltModel built = load_saved_model(args.checkpoint, saved);
  built.to(parse_device(args.loop.device));
  task->set_model(built);
  if (!args.quantization_config.empty()) product_quantize(args, saved, built, *task);

  const nn::quant::CompressedModel encoded =
      nn::quant::encode_compressed(*built.module, args.storage, model_info(saved.arch, built_config(saved)));
  nn::quant::round_to_storage(*built.module, encoded);
  const train::Metrics metrics = evaluate(*task, *built.module, args.split);
  nn::quant::save_compressed(args.out, encoded);
  const nn::quant::SizeReport size = nn::quant::file_size_report(args.out);
  if (args.json) {
    std::cout << nlohmann::json{{"path", args.out},
                                {"split", args.split},
                                {"size", size.to_json()},
                                {"metrics", metrics_json(metrics)}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << size.table() << "wrote " << args.out << " (" << args.split << " " << format_metrics(metrics) << ")\n";
}

}  // namespace

void add_compress_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("compress", "compress a trained checkpoint with iPQ and/or int8/int4");
  static CompressArgs args;
  cmd->set_config("--config", "", "read flags from a TOML/INI file (flag names without dashes)");
  cmd->add_option("checkpoint", args.checkpoint, "the trained checkpoint (qn train's checkpoint_*.safetensors)")
      ->required();
  add_task_flags(*cmd, args.task, true);
  cmd->add_option("--out,-o", args.out, "the compressed model file to write")->required();
  cmd->add_option("--quantization-config-path", args.quantization_config, "iPQ stages (fairseq's YAML schema)");
  cmd->add_option("--centroid-bits", args.storage.centroid_bits, "iPQ centroids: 16 (fp16) or 8 (iPQ & int8)");
  cmd->add_option("--other-bits", args.storage.other_bits,
                  "every parameter outside PQ layers: 32 (float), 8 (int8) or 4 (int4)");
  cmd->add_option("--gen-subset,--valid-subset", args.split, "the split the compressed model is evaluated on");
  cmd->add_flag("--json", args.json, "print the size report and metrics as JSON");
  add_optimizer_flags(*cmd, args.optimizer);
  add_loop_flags(*cmd, args.loop);
  cmd->callback([] { run(args); });
}

}  // namespace qn::tools
