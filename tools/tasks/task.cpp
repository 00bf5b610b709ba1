#include "tools/tasks/task.h"

#include "kernels/reduce.h"
#include "tools/tasks/task_parts.h"

namespace qn::tasks {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"language_modeling", "masked_lm", "sentence_prediction",
                                                 "image_classification"};
  return names;
}

std::unique_ptr<Task> make_task(const TaskOptions& options) {
  if (options.task == "image_classification") return make_image_classification_task(options);
  if (options.task == "language_modeling") return make_language_modeling_task(options);
  if (options.task == "sentence_prediction") return make_sentence_prediction_task(options);
  if (options.task == "masked_lm") return make_masked_lm_task(options);
  throw_error("task", detail::concat("unknown task '", options.task, "' (", join(task_names(), ", "), ")"));
}

void ClassificationMeter::add(const models::ModelOutputs& outputs, const Tensor& labels) {
  const int64_t n = labels.size(0);
  const Tensor predicted = kernels::argmax(outputs.logits, 1).contiguous();
  const Tensor truth = labels.contiguous();
  for (int64_t i = 0; i < n; ++i) correct_ += predicted.data_ptr<int64_t>()[i] == truth.data_ptr<int64_t>()[i];
  loss_sum_ += outputs.loss.item<double>() * static_cast<double>(n);
  samples_ += n;
}

train::Metrics ClassificationMeter::metrics() const {
  const double n = static_cast<double>(std::max<int64_t>(samples_, 1));
  return {{"loss", loss_sum_ / n}, {"accuracy", 100.0 * static_cast<double>(correct_) / n}};
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

}  // namespace qn::tasks
