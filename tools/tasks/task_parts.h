// What the tasks share: their constructors (task.cpp picks one by name) and the metric accumulators.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batching.h"
#include "data/loader.h"
#include "data/token_file.h"
#include "tools/tasks/task.h"

namespace qn::tasks {

std::unique_ptr<Task> make_image_classification_task(const TaskOptions& options);
std::unique_ptr<Task> make_language_modeling_task(const TaskOptions& options);
std::unique_ptr<Task> make_sentence_prediction_task(const TaskOptions& options);
std::unique_ptr<Task> make_masked_lm_task(const TaskOptions& options);

// A task's training split as the Trainer reads it: the epoch's batches planned by plan(epoch) and made by
// make(indices, epoch) on the loader's workers. batches_per_epoch() is the current epoch's plan size (the Trainer
// asks for it after begin_epoch).
template <class Batch>
class TrainingBatches {
 public:
  TrainingBatches(typename data::Loader<Batch>::Plan plan, typename data::Loader<Batch>::Make make, int workers)
      : loader_(std::move(plan), std::move(make), data::LoaderOptions{workers, 2}) {}
  void begin_epoch(int64_t epoch) { loader_.begin_epoch(epoch); }
  int64_t batches_per_epoch() const { return loader_.batches_in_epoch(); }
  Batch batch(int64_t index) { return loader_.batch(index); }

 private:
  data::Loader<Batch> loader_;
};

// Indices 0..n-1 in order, in batches of batch_size (evaluation).
std::vector<data::IndexBatch> in_order(int64_t n, int64_t batch_size);

// Mean loss and accuracy (in percent, as fairseq reports it) over the batches of an evaluation.
class ClassificationMeter {
 public:
  // outputs: logits (N, C) and the batch's mean loss; labels i64 (N).
  void add(const models::ModelOutputs& outputs, const Tensor& labels);
  train::Metrics metrics() const;

 private:
  double loss_sum_ = 0.0;  // nats, over samples
  int64_t correct_ = 0, samples_ = 0;
};

std::string join(const std::vector<std::string>& parts, const std::string& separator);

// A text task's training batches (sizes: each sample's tokens): fairseq's batch_by_size under --max-tokens (at
// most --batch-size samples each), else fixed batches of --batch-size, or of default_batch_size when it is not
// given (0: one of the two flags is required).
std::vector<data::IndexBatch> text_batches(const std::vector<int64_t>& sizes, int64_t epoch, const TaskOptions& options,
                                           int64_t default_batch_size, const char* op);

// The words of a `qn preprocess` folder's dict.txt (specials included), and one split's token file, checked to
// have been made with a vocabulary no larger.
int64_t dictionary_size(const TaskOptions& options, const char* op);
std::unique_ptr<data::TokenFile> open_token_split(const TaskOptions& options, const std::string& split,
                                                  int64_t dictionary_words, const char* op);

}  // namespace qn::tasks
