#include "tools/tasks/task.h"

#include <filesystem>

#include "data/dictionary.h"
#include "kernels/elementwise.h"
#include "kernels/join.h"
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
  // The batch's loss and its count of right answers, both computed where the model ran and read back together.
  const Tensor predicted = kernels::argmax(outputs.logits, 1);
  const Tensor right = kernels::compare(kernels::CompareOp::eq, predicted, labels.to(predicted.device()));
  const Tensor read =
      kernels::cat({outputs.loss.to(DType::f64).reshape({1}), kernels::sum(right).to(DType::f64).reshape({1})}, 0)
          .to(Device::cpu());
  loss_sum_ += read.data_ptr<double>()[0] * static_cast<double>(n);
  correct_ += static_cast<int64_t>(read.data_ptr<double>()[1]);
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

std::vector<data::IndexBatch> text_batches(const std::vector<int64_t>& sizes, int64_t epoch, const TaskOptions& options,
                                           int64_t default_batch_size, const char* op) {
  if (options.max_tokens > 0) {
    data::TokenBatchOptions o;
    o.max_tokens = options.max_tokens;
    o.max_sentences = options.batch_size;
    o.seed = options.seed;
    return data::token_batches(sizes, epoch, o);
  }
  data::FixedBatchOptions o;
  o.batch_size = options.batch_size > 0 ? options.batch_size : default_batch_size;
  QN_CHECK(o.batch_size > 0, op, "give --max-tokens or --batch-size");
  o.seed = options.seed;
  return data::fixed_size_batches(static_cast<int64_t>(sizes.size()), epoch, o);
}

std::vector<data::IndexBatch> in_order(int64_t n, int64_t batch_size) {
  data::FixedBatchOptions o;
  o.batch_size = batch_size;
  o.shuffle = false;
  return data::fixed_size_batches(n, 0, o);
}

int64_t dictionary_size(const TaskOptions& options, const char* op) {
  const std::filesystem::path dict = std::filesystem::path(options.data) / "dict.txt";
  QN_CHECK(std::filesystem::is_regular_file(dict), op, "'", options.data,
           "' has no dict.txt (make the folder with qn preprocess)");
  return data::Dictionary::load(dict.string()).size();
}

std::unique_ptr<data::TokenFile> open_token_split(const TaskOptions& options, const std::string& split,
                                                  int64_t dictionary_words, const char* op) {
  const std::filesystem::path path = std::filesystem::path(options.data) / (split + ".tok");
  QN_CHECK(std::filesystem::is_regular_file(path), op, "'", options.data, "' has no ", split, ".tok");
  auto tokens = std::make_unique<data::TokenFile>(path.string());
  QN_CHECK(tokens->vocabulary_size() <= dictionary_words, op, path.string(), " was made with a vocabulary of ",
           tokens->vocabulary_size(), " words; dict.txt has ", dictionary_words);
  return tokens;
}

}  // namespace qn::tasks
