// qn eval DATA --task T --path MODEL [--path MODEL2 ...] [--gen-subset test] [--json]: evaluates trained
// checkpoints and compressed files alike on one split, and prints for each its size as the paper counts it,
// the compression ratio against its float model, and the task's metrics (accuracy, perplexity, ...).
#include <algorithm>
#include <iostream>

#include "core/parallel.h"
#include "nn/quant/compressed.h"
#include "tools/qn/blas_core.h"
#include "tools/qn/commands.h"
#include "tools/qn/run_setup.h"

namespace qn::tools {
namespace {

struct EvalArgs {
  tasks::TaskOptions task;
  std::vector<std::string> paths;
  std::string split = "valid";
  int threads = 0;
  std::string device = "cpu";
  bool json = false;
};

struct EvalRow {
  std::string path;
  bool compressed = false;
  nn::quant::SizeReport size;
  train::Metrics metrics;
};

void print_table(const std::vector<EvalRow>& rows, const std::string& split) {
  int width = 5;
  for (const EvalRow& row : rows) width = std::max(width, static_cast<int>(row.path.size()));
  std::printf("%-*s %-10s %10s %7s  %s\n", width, "model", "kind", "size MiB", "ratio", (split + " metrics").c_str());
  for (const EvalRow& row : rows) {
    std::printf("%-*s %-10s %10.3f %6.1fx  %s\n", width, row.path.c_str(), row.compressed ? "compressed" : "float",
                row.size.total_bytes() / nn::quant::kMiB, row.size.ratio(), format_metrics(row.metrics).c_str());
  }
}

void run(const EvalArgs& args) {
  apply_threads(args.threads);
  note_replaced_blas_core();
  std::unique_ptr<tasks::Task> task = tasks::make_task(args.task);
  std::vector<EvalRow> rows;
  for (const std::string& path : args.paths) {
    const SavedModel saved = describe_saved_model(path);
    models::BuiltModel built = load_saved_model(path, saved);
    built.to(parse_device(args.device));
    task->set_model(built);
    rows.push_back(
        {path, saved.compressed, nn::quant::file_size_report(path), evaluate(*task, *built.module, args.split)});
  }
  if (!args.json) {
    print_table(rows, args.split);
    return;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const EvalRow& row : rows) {
    out.push_back({{"path", row.path},
                   {"compressed", row.compressed},
                   {"split", args.split},
                   {"size", row.size.to_json()},
                   {"metrics", metrics_json(row.metrics)}});
  }
  std::cout << out.dump(2) << "\n";
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "evaluate checkpoints or compressed models on a split, with their sizes");
  static EvalArgs args;
  add_task_flags(*cmd, args.task, false);
  cmd->add_option("--path", args.paths, "a checkpoint or compressed model (repeat for a table of several)")->required();
  cmd->add_option("--gen-subset,--valid-subset", args.split, "the split: train, valid or test");
  cmd->add_option("--threads", args.threads, "compute threads (default: all cores, or QN_NUM_THREADS)");
  cmd->add_option("--device", args.device, kDeviceHelp);
  cmd->add_flag("--json", args.json, "print the results as JSON");
  cmd->callback([] { run(args); });
}

}  // namespace qn::tools
