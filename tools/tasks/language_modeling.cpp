// language_modeling: a `qn preprocess` directory (dict.txt and {train,valid,test}.tok). Training blocks are
// fairseq's TokenBlockDataset with --tokens-per-sample and --sample-break-mode, batched by --max-tokens
// (fairseq's batch_by_size) or --batch-size. Evaluation is fairseq-eval-lm's: with --context-window C the
// blocks are tokens_per_sample - C long and each is scored with up to C tokens of the text before it as
// context (its own targets only); loss is nats per token and ppl = exp(loss).
#include <cmath>

#include "data/dictionary.h"
#include "data/lm_blocks.h"
#include "data/token_batches.h"
#include "data/token_file.h"
#include "tools/tasks/task_parts.h"

namespace qn::tasks {
namespace {

constexpr const char* kOp = "language_modeling";

std::vector<int64_t> values(const Tensor& t) {
  const Tensor c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// fairseq-eval-lm's scored windows: block [begin, end) with context [context_begin, begin) before it.
struct ScoredWindow {
  int64_t context_begin = 0, begin = 0, end = 0;
};

class LanguageModelingTask : public Task {
 public:
  explicit LanguageModelingTask(const TaskOptions& options) : options_(options) {
    vocabulary_ = dictionary_size(options, kOp);
    break_mode_ = data::parse_break_mode(options.sample_break_mode);
    QN_CHECK(options.tokens_per_sample > options.context_window && options.context_window >= 0, kOp,
             "--tokens-per-sample (", options.tokens_per_sample, ") must exceed --context-window (",
             options.context_window, ")");
    train_tokens_ = open_split("train");
  }

  nlohmann::json model_defaults(const std::string& arch) const override {
    QN_CHECK(arch.starts_with("transformer_lm"), kOp, "trains a language model (transformer_lm_*), not '", arch, "'");
    return {{"vocab_size", vocabulary_}, {"max_positions", options_.tokens_per_sample}};
  }

  void set_model(const models::BuiltModel& model) override {
    QN_CHECK(model.family == models::ModelFamily::kLanguageModel, kOp, "needs a language model");
    model_ = model;
    if (train_batches_) return;
    train_maker_ = std::make_unique<data::LmBatchMaker>(
        *train_tokens_, data::token_blocks(*train_tokens_, options_.tokens_per_sample, break_mode_),
        data::Dictionary::kEos, data::Dictionary::kPad);
    train_batches_ = std::make_unique<TrainingBatches<data::LmBatch>>(
        [this, sizes = train_maker_->sizes()](int64_t epoch) { return text_batches(sizes, epoch, options_, 0, kOp); },
        [this](const data::IndexBatch& indices, int64_t epoch) { return (*train_maker_)(indices, epoch); },
        options_.workers);
  }

  void set_data_parallel_rank(int rank, int world_size) override { train_batches_->set_rank(rank, world_size); }
  void begin_epoch(int64_t epoch) override { train_batches_->begin_epoch(epoch); }
  int64_t batches_per_epoch() const override { return train_batches_->batches_per_epoch(); }

  train::MicroBatchLoss train_loss(int64_t index) override {
    const data::LmBatch batch = train_batches_->batch(index);
    return {model_.loss(batch.source, batch.target), batch.target_tokens};
  }

  train::Metrics evaluate_split(const std::string& split) override {
    const std::unique_ptr<data::TokenFile> tokens = open_split(split);
    const int64_t block = options_.tokens_per_sample - options_.context_window;
    std::vector<ScoredWindow> windows;
    for (const data::TokenRange& r : data::token_blocks(*tokens, block, break_mode_)) {
      windows.push_back({std::max<int64_t>(0, r.begin - options_.context_window), r.begin, r.end});
    }
    const int64_t batch_size = options_.eval_batch_size > 0 ? options_.eval_batch_size
                               : options_.batch_size > 0    ? options_.batch_size
                                                            : 8;
    double nll_sum = 0.0;
    int64_t scored = 0;
    for (const data::IndexBatch& indices : in_order(static_cast<int64_t>(windows.size()), batch_size)) {
      std::vector<std::vector<int64_t>> sources, targets;
      int64_t batch_scored = 0;
      for (const int64_t w : indices) {
        const ScoredWindow& window = windows[static_cast<size_t>(w)];
        const data::LmSample sample =
            data::lm_sample(*tokens, {window.context_begin, window.end}, data::Dictionary::kEos);
        sources.push_back(values(sample.source));
        std::vector<int64_t> target = values(sample.target);
        // The context's own targets are not scored (fairseq's LMContextWindowDataset pads them).
        std::fill(target.begin(), target.begin() + (window.begin - window.context_begin), data::Dictionary::kPad);
        targets.push_back(std::move(target));
        batch_scored += window.end - window.begin;
      }
      const Tensor source = data::pad_sequences(spans(sources), data::Dictionary::kPad);
      const Tensor target = data::pad_sequences(spans(targets), data::Dictionary::kPad);
      nll_sum += model_.loss(source, target).item<double>() * static_cast<double>(batch_scored);
      scored += batch_scored;
    }
    QN_CHECK(scored > 0, kOp, "the ", split, " split of '", options_.data, "' has no tokens");
    const double loss = nll_sum / static_cast<double>(scored);
    return {{"loss", loss}, {"ppl", std::exp(loss)}, {"tokens", static_cast<double>(scored)}};
  }

  std::string validation_split() const override { return "valid"; }
  std::pair<std::string, bool> best_metric() const override { return {"loss", false}; }

 private:
  std::unique_ptr<data::TokenFile> open_split(const std::string& split) const {
    return open_token_split(options_, split, vocabulary_, kOp);
  }

  static std::vector<std::span<const int64_t>> spans(const std::vector<std::vector<int64_t>>& rows) {
    return {rows.begin(), rows.end()};
  }

  TaskOptions options_;
  int64_t vocabulary_ = 0;
  data::BreakMode break_mode_ = data::BreakMode::none;
  std::unique_ptr<data::TokenFile> train_tokens_;
  std::unique_ptr<data::LmBatchMaker> train_maker_;
  std::unique_ptr<TrainingBatches<data::LmBatch>> train_batches_;
  models::BuiltModel model_;
};

}  // namespace

std::unique_ptr<Task> make_language_modeling_task(const TaskOptions& options) {
  return std::make_unique<LanguageModelingTask>(options);
}

}  // namespace qn::tasks
