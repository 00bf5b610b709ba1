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
// make(indices, epoch) on the loader's workers. batches_per_epoch() is the current epoch's plan size, every
// rank's batches (the Trainer asks for it after begin_epoch). Under data parallelism (set_rank) this process
// asks only for batches rank, rank + world_size, ...: the loader plans those alone, so that its workers make
// them, and only them, ahead of the Trainer.
template <class Batch>
class TrainingBatches {
 public:
  TrainingBatches(typename data::Loader<Batch>::Plan plan, typename data::Loader<Batch>::Make make, int workers)
      : plan_(std::move(plan)),
        loader_([this](int64_t epoch) { return rank_plan(epoch); }, std::move(make), data::LoaderOptions{workers, 2}) {}
  // Before the first begin_epoch.
  void set_rank(int rank, int world_size) {
    QN_CHECK(!began_ && world_size >= 1 && rank >= 0 && rank < world_size, "TrainingBatches", "set_rank(", rank, ", ",
             world_size, ") must come before the first epoch, with 0 <= rank < world_size");
    rank_ = rank;
    world_size_ = world_size;
  }
  void begin_epoch(int64_t epoch) {
    began_ = true;
    loader_.begin_epoch(epoch);
  }
  int64_t batches_per_epoch() const { return epoch_batches_; }
  Batch batch(int64_t index) {
    QN_CHECK(index % world_size_ == rank_, "TrainingBatches", "rank ", rank_, " of ", world_size_,
             " does not read batch ", index);
    return loader_.batch(index / world_size_);
  }

 private:
  std::vector<data::IndexBatch> rank_plan(int64_t epoch) {
    std::vector<data::IndexBatch> all = plan_(epoch);
    epoch_batches_ = static_cast<int64_t>(all.size());
    std::vector<data::IndexBatch> mine;
    for (size_t i = static_cast<size_t>(rank_); i < all.size(); i += static_cast<size_t>(world_size_)) {
      mine.push_back(std::move(all[i]));
    }
    return mine;
  }

  typename data::Loader<Batch>::Plan plan_;
  int rank_ = 0;
  int world_size_ = 1;
  bool began_ = false;
  int64_t epoch_batches_ = 0;  // written by rank_plan, on the thread that begins or seeks an epoch
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
