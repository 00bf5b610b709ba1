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
// qn train: train a model on a task (fairseq's flag names), with Quant-Noise and iPQ during training.
void add_train_command(CLI::App& app);
// qn eval: evaluate checkpoints and compressed models on a split, with their sizes.
void add_eval_command(CLI::App& app);
// qn compress: a trained checkpoint compressed with iPQ (fine-tuned between stages) and/or int8/int4.
void add_compress_command(CLI::App& app);

}  // namespace qn::tools
