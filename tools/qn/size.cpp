// qn size FILE [--json]: the model's size as the paper counts it (docs/METHOD.md, size accounting), from a compressed
// model file (its PQ layers, codes and centroids) or from any safetensors checkpoint or state dict (its floating
// parameters at fp32, with what int8 and int4 would make of them).
// qn size --model NAME [--config JSON|cfg.json] [--ipq stages.yaml] [--json]: the same for a model config, with
// its parameter count, and with --ipq the size iPQ would give it.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "models/registry.h"
#include "nn/quant/compressed.h"
#include "nn/quant/ipq_config.h"
#include "tools/qn/commands.h"

namespace qn::tools {

namespace {

nn::quant::SizeReport model_size_report(const std::string& model, const std::string& config, const std::string& ipq) {
  const models::BuiltModel built = models::build_model(model, models::load_overrides(config));
  nn::quant::SizeOptions options;
  if (!ipq.empty()) options.planned = nn::quant::plan_ipq(*built.module, nn::quant::IpqConfig::load(ipq));
  return nn::quant::size_report(*built.module, options);
}

}  // namespace

void add_size_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("size", "print a model file's or config's size as the paper counts it (MiB = the paper's MB)");
  static std::string path, model, config, ipq;
  static bool json = false;
  auto* file = cmd->add_option("file", path, "a compressed model, checkpoint or state dict (.safetensors)");
  auto* model_option = cmd->add_option("--model", model, "a model config instead of a file (e.g. roberta_base)");
  file->excludes(model_option);
  cmd->add_option("--config", config, "with --model: JSON object overriding config fields, inline or a file")
      ->needs(model_option);
  cmd->add_option("--ipq", ipq, "with --model: an iPQ stages YAML; report the size it would give")->needs(model_option);
  cmd->add_flag("--json", json, "print the report as JSON");
  cmd->callback([] {
    QN_CHECK(!path.empty() || !model.empty(), "size", "give a model file or --model NAME");
    const nn::quant::SizeReport report =
        model.empty() ? nn::quant::file_size_report(path) : model_size_report(model, config, ipq);
    const bool quantized = report.code_bytes > 0;
    if (json) {
      nlohmann::json out = report.to_json();
      if (!quantized) {
        out["int8_mib"] = report.float_bytes / 4 / nn::quant::kMiB;
        out["int4_mib"] = report.float_bytes / 8 / nn::quant::kMiB;
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << report.table();
    if (!quantized) {
      std::printf("int8 %.3f MiB, int4 %.3f MiB\n", report.float_bytes / 4 / nn::quant::kMiB,
                  report.float_bytes / 8 / nn::quant::kMiB);
    }
  });
}

}  // namespace qn::tools
