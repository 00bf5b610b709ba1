// The qn subcommands. Each registers its options on the command line and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace qn::tools {

// qn info: version, compiler, BLAS and threads, CUDA/cuDNN and the visible GPUs.
void add_info_command(CLI::App& app);

}  // namespace qn::tools
