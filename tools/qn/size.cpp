// qn size FILE [--json]: the model's size as the paper counts it (PAPER.md 4.1), from a compressed model
// file (its PQ layers, codes and centroids) or from any safetensors checkpoint or state dict (its floating
// parameters at fp32, with what int8 and int4 would make of them).
#include <cstdio>
#include <iostream>

#include "nn/quant/compressed.h"
#include "tools/qn/commands.h"

namespace qn::tools {

void add_size_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("size", "print a model file's size as the paper counts it (MiB = the paper's MB)");
  static std::string path;
  static bool json = false;
  cmd->add_option("file", path, "a compressed model, checkpoint or state dict (.safetensors)")->required();
  cmd->add_flag("--json", json, "print the report as JSON");
  cmd->callback([] {
    const nn::quant::SizeReport report = nn::quant::file_size_report(path);
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
