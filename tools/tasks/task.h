// Tasks: what `qn train`, `qn eval` and `qn compress` run on, under fairseq's task names. A task reads its data
// set, says which model config fields the data decides (classes, vocabulary, input channels), and supplies the
// Trainer's micro-batches and the evaluation of any split.
//
//   image_classification  an IDX directory (MNIST, Fashion-MNIST), an ImageNet-style folder with train/ and
//                         val/, or a tar(.gz) of one (CIFAR-10's train/ and test/); accuracy
//   language_modeling     a `qn preprocess` directory (dict.txt, {train,valid,test}.tok); perplexity as
//                         fairseq-eval-lm computes it
//   sentence_prediction   a GLUE task directory (train.tsv, dev.tsv) encoded with GPT-2 BPE; accuracy
//   masked_lm             a `qn preprocess` directory; masked-token loss and perplexity
//
// Batches come from data::Loader and depend only on (seed, epoch, index), so a resumed run sees the same ones.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/registry.h"
#include "train/trainer.h"

namespace qn::tasks {

struct TaskOptions {
  std::string task;  // one of the names above
  std::string data;  // the data directory or archive
  uint64_t seed = 1;
  int workers = 1;              // loader threads (0: on the training thread)
  int64_t batch_size = 0;       // samples per batch; 0: bounded by max_tokens only (text) or 32 (images)
  int64_t max_tokens = 0;       // text: tokens per batch, padding included (0: no bound)
  int64_t eval_batch_size = 0;  // 0: batch_size (or 256 images)
  // text
  int64_t tokens_per_sample = 512;
  std::string sample_break_mode = "none";  // none | complete | complete_doc | eos
  int64_t context_window = 0;              // language_modeling evaluation: tokens of left context kept
  std::string bpe_dir;                     // sentence_prediction: encoder.json, vocab.bpe and dict.txt
  double mask_prob = 0.15;                 // masked_lm
  // images
  int64_t resize_size = 0;       // evaluation: short side before the center crop; 0: size * 8 / 7
  double min_crop_scale = 0.08;  // training: RandomResizedCrop's smallest area fraction
  std::string augment = "none";  // none | autoaugment | randaugment
};

class Task : public train::TrainingTask {
 public:
  // Model config fields the data decides, under the model config's names ({"num_classes": 10}).
  virtual nlohmann::json model_defaults(const std::string& arch) const = 0;
  // Binds the model built from those defaults (and the user's overrides); before training or evaluation.
  virtual void set_model(const models::BuiltModel& model) = 0;
  // Metrics of one split ("valid", "test", ...), the model already in eval mode under NoGradGuard when called
  // by the Trainer; evaluate_split sets both itself.
  virtual train::Metrics evaluate_split(const std::string& split) = 0;
  // The split evaluate() reports on (the validation split).
  virtual std::string validation_split() const { return "valid"; }
  // The metric that picks checkpoint_best and whether larger is better.
  virtual std::pair<std::string, bool> best_metric() const = 0;

  train::Metrics evaluate() override { return evaluate_split(validation_split()); }
};

// Reads the data set. Throws qn::Error naming what is missing or malformed.
std::unique_ptr<Task> make_task(const TaskOptions& options);

// The task names, for help texts and errors.
const std::vector<std::string>& task_names();

}  // namespace qn::tasks
