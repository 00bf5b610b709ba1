// What the tasks share: their constructors (task.cpp picks one by name) and the metric accumulators.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tools/tasks/task.h"

namespace qn::tasks {

std::unique_ptr<Task> make_image_classification_task(const TaskOptions& options);
std::unique_ptr<Task> make_language_modeling_task(const TaskOptions& options);
std::unique_ptr<Task> make_sentence_prediction_task(const TaskOptions& options);
std::unique_ptr<Task> make_masked_lm_task(const TaskOptions& options);

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

}  // namespace qn::tasks
