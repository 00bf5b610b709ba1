// masked_lm: RoBERTa's pre-training objective on a `qn preprocess` directory (dict.txt, {train,valid}.tok), as
// fairseq's masked_lm task makes its samples: blocks of tokens_per_sample - 1 tokens (--sample-break-mode), <s>
// in front; in each sample floor(mask_prob * length + u) positions are chosen (u uniform), and of those 80%
// become <mask>, 10% a random word and 10% stay; the loss is the cross-entropy at the chosen positions only.
// The vocabulary is dict.txt's plus <mask> (the last id). Draws come from SampleRandom(seed, kAugment, epoch,
// sample), so a sample is masked the same way whoever makes it; evaluation uses epoch 0's masks.
#include <cmath>

#include "data/dictionary.h"
#include "data/lm_blocks.h"
#include "data/sample_random.h"
#include "data/token_batches.h"
#include "data/token_file.h"
#include "tools/tasks/task_parts.h"

namespace qn::tasks {
namespace {

constexpr const char* kOp = "masked_lm";
constexpr int64_t kIgnore = -100;  // RoBERTa's MLM loss skips these targets

struct MlmBatch {
  Tensor tokens;   // i64 [N, T], masked
  Tensor targets;  // i64 [N, T], the original token where masked, kIgnore elsewhere
  int64_t masked = 0;
};

// Masked samples of one split.
class MlmBatchMaker {
 public:
  MlmBatchMaker(std::unique_ptr<data::TokenFile> tokens, int64_t block_size, data::BreakMode mode, int64_t vocabulary,
                double mask_prob, uint64_t seed)
      : tokens_(std::move(tokens)),
        blocks_(data::token_blocks(*tokens_, block_size, mode)),
        mask_id_(vocabulary - 1),
        vocabulary_(vocabulary),
        mask_prob_(mask_prob),
        seed_(seed) {}

  int64_t size() const { return static_cast<int64_t>(blocks_.size()); }
  std::vector<int64_t> sizes() const {
    std::vector<int64_t> out;
    for (const data::TokenRange& b : blocks_) out.push_back(b.size() + 1);
    return out;
  }

  MlmBatch operator()(const data::IndexBatch& indices, int64_t epoch) const {
    std::vector<std::vector<int64_t>> inputs, targets;
    MlmBatch batch;
    for (const int64_t index : indices) {
      const data::TokenRange block = blocks_.at(static_cast<size_t>(index));
      std::vector<int64_t> input = {data::Dictionary::kBos};
      for (int64_t i = block.begin; i < block.end; ++i) input.push_back(tokens_->token(i));
      std::vector<int64_t> target(input.size(), kIgnore);
      data::SampleRandom random(seed_, data::DrawPurpose::kAugment, epoch, index);
      const auto length = static_cast<int64_t>(input.size());
      const auto count =
          std::min<int64_t>(length, static_cast<int64_t>(mask_prob_ * static_cast<double>(length) + random.uniform()));
      const std::vector<int64_t> order = data::random_permutation(length, random);
      for (int64_t k = 0; k < count; ++k) {
        const auto at = static_cast<size_t>(order[static_cast<size_t>(k)]);
        target[at] = input[at];
        const double u = random.uniform();
        if (u < 0.8) {
          input[at] = mask_id_;
        } else if (u < 0.9) {  // a random word, never a special symbol or <mask>
          input[at] = data::Dictionary::kUnk + 1 + random.below(vocabulary_ - data::Dictionary::kUnk - 2);
        }
      }
      batch.masked += count;
      inputs.push_back(std::move(input));
      targets.push_back(std::move(target));
    }
    batch.tokens = data::pad_sequences({inputs.begin(), inputs.end()}, data::Dictionary::kPad);
    batch.targets = data::pad_sequences({targets.begin(), targets.end()}, kIgnore);
    return batch;
  }

 private:
  std::unique_ptr<data::TokenFile> tokens_;
  std::vector<data::TokenRange> blocks_;
  int64_t mask_id_, vocabulary_;
  double mask_prob_;
  uint64_t seed_;
};

class MaskedLmTask : public Task {
 public:
  explicit MaskedLmTask(const TaskOptions& options) : options_(options) {
    vocabulary_ = dictionary_size(options, kOp) + 1;  // and <mask>
    QN_CHECK(options.tokens_per_sample >= 2, kOp, "--tokens-per-sample must be at least 2");
    QN_CHECK(options.mask_prob > 0 && options.mask_prob < 1, kOp, "--mask-prob must lie in (0, 1), got ",
             options.mask_prob);
    train_ = make_split("train");
  }

  nlohmann::json model_defaults(const std::string& arch) const override {
    QN_CHECK(arch.starts_with("roberta"), kOp, "pre-trains a RoBERTa model (roberta_*), not '", arch, "'");
    return {{"vocab_size", vocabulary_}, {"lm_head", true}, {"max_positions", options_.tokens_per_sample + 2}};
  }

  void set_model(const models::BuiltModel& model) override {
    QN_CHECK(model.family == models::ModelFamily::kRoberta, kOp, "needs a RoBERTa model");
    model_ = model;
    if (train_batches_) return;
    train_batches_ = std::make_unique<TrainingBatches<MlmBatch>>(
        [this, sizes = train_->sizes()](int64_t epoch) { return text_batches(sizes, epoch, options_, 0, kOp); },
        [this](const data::IndexBatch& indices, int64_t epoch) { return (*train_)(indices, epoch); }, options_.workers);
  }

  void set_data_parallel_rank(int rank, int world_size) override { train_batches_->set_rank(rank, world_size); }
  void begin_epoch(int64_t epoch) override { train_batches_->begin_epoch(epoch); }
  int64_t batches_per_epoch() const override { return train_batches_->batches_per_epoch(); }

  train::MicroBatchLoss train_loss(int64_t index) override {
    const MlmBatch batch = train_batches_->batch(index);
    return {model_.loss(batch.tokens, batch.targets), batch.masked};
  }

  train::Metrics evaluate_split(const std::string& split) override {
    const std::unique_ptr<MlmBatchMaker> samples = make_split(split);
    const int64_t batch_size = options_.eval_batch_size > 0 ? options_.eval_batch_size
                               : options_.batch_size > 0    ? options_.batch_size
                                                            : 8;
    double nll_sum = 0.0;
    int64_t masked = 0;
    for (const data::IndexBatch& indices : in_order(samples->size(), batch_size)) {
      const MlmBatch batch = (*samples)(indices, 0);
      if (batch.masked == 0) continue;
      nll_sum += model_.loss(batch.tokens, batch.targets).item<double>() * static_cast<double>(batch.masked);
      masked += batch.masked;
    }
    QN_CHECK(masked > 0, kOp, "the ", split, " split of '", options_.data, "' has nothing to score");
    const double loss = nll_sum / static_cast<double>(masked);
    return {{"loss", loss}, {"ppl", std::exp(loss)}};
  }

  std::pair<std::string, bool> best_metric() const override { return {"loss", false}; }

 private:
  std::unique_ptr<MlmBatchMaker> make_split(const std::string& split) const {
    auto tokens = open_token_split(options_, split, vocabulary_ - 1, kOp);
    return std::make_unique<MlmBatchMaker>(std::move(tokens), options_.tokens_per_sample - 1,
                                           data::parse_break_mode(options_.sample_break_mode), vocabulary_,
                                           options_.mask_prob, options_.seed);
  }

  TaskOptions options_;
  int64_t vocabulary_ = 0;
  std::unique_ptr<MlmBatchMaker> train_;
  std::unique_ptr<TrainingBatches<MlmBatch>> train_batches_;
  models::BuiltModel model_;
};

}  // namespace

std::unique_ptr<Task> make_masked_lm_task(const TaskOptions& options) {
  return std::make_unique<MaskedLmTask>(options);
}

}  // namespace qn::tasks
