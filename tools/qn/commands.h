// The qn subcommands. Each registers its options on the command line and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace qn::tools {

// qn info: version, compiler, BLAS and threads, CUDA/cuDNN and the visible GPUs.
void add_info_command(CLI::App& app);
// qn size: a model file's size as the paper counts it, as a table or JSON.
void add_size_command(CLI::App& app);
// qn forward: one forward (and backward) of a named model on given weights and inputs.
void add_forward_command(CLI::App& app);
// qn convert: a released RoBERTa checkpoint (fairseq or Hugging Face) under this engine's parameter names.
void add_convert_command(CLI::App& app);
// qn preprocess: a dictionary and binarized token files from text (fairseq-preprocess, monolingual).
void add_preprocess_command(CLI::App& app);

}  // namespace qn::tools
