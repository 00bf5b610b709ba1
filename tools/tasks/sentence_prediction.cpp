// sentence_prediction: a GLUE task directory (train.tsv, dev.tsv, test.tsv; the task, rte, mrpc, mnli, qnli
// or sst2, from the directory's name) encoded as RoBERTa's inputs with GPT-2 BPE and fairseq's dict.txt from
// --bpe-dir. The model is a RoBERTa with a classification head of the task's label count; the vocabulary is
// dict.txt's plus <mask>, as fairseq's masked_lm task makes it. Splits: train, valid (dev.tsv), test.
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "data/dictionary.h"
#include "data/glue.h"
#include "data/gpt2_bpe.h"
#include "data/token_batches.h"
#include "tools/tasks/task_parts.h"

namespace qn::tasks {
namespace {

namespace fs = std::filesystem;
constexpr const char* kOp = "sentence_prediction";

// "RTE", "SST-2", "mrpc" -> the GLUE task of that name.
const data::GlueTask& task_of_directory(const std::string& data) {
  std::string name = fs::path(data).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(data).lexically_normal().parent_path().filename().string();
  std::string key;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return data::glue_task(key);
}

class SentencePredictionTask : public Task {
 public:
  explicit SentencePredictionTask(const TaskOptions& options)
      : options_(options), glue_(task_of_directory(options.data)) {
    QN_CHECK(!options.bpe_dir.empty(), kOp, "give --bpe-dir, the folder of encoder.json, vocab.bpe and dict.txt");
    const fs::path bpe = options.bpe_dir;
    for (const char* file : {"encoder.json", "vocab.bpe", "dict.txt"}) {
      QN_CHECK(fs::is_regular_file(bpe / file), kOp, "--bpe-dir '", options.bpe_dir, "' has no ", file);
    }
    data::Dictionary dictionary = data::Dictionary::load((bpe / "dict.txt").string());
    vocabulary_ = dictionary.size() + 1;  // and <mask>
    encoder_ = std::make_unique<data::RobertaInputEncoder>(
        data::Gpt2Bpe::load((bpe / "encoder.json").string(), (bpe / "vocab.bpe").string()), std::move(dictionary),
        options.tokens_per_sample);
    train_ = read_split("train");
  }

  nlohmann::json model_defaults(const std::string& arch) const override {
    QN_CHECK(arch.starts_with("roberta"), kOp, "fine-tunes a RoBERTa model (roberta_*), not '", arch, "'");
    return {{"vocab_size", vocabulary_},
            {"num_classes", static_cast<int64_t>(glue_.labels.size())},
            {"lm_head", false},
            {"max_positions", options_.tokens_per_sample + 2}};
  }

  void set_model(const models::BuiltModel& model) override {
    QN_CHECK(model.family == models::ModelFamily::kRoberta, kOp, "needs a RoBERTa model");
    model_ = model;
    if (train_batches_) return;
    train_batches_ = std::make_unique<TrainingBatches<data::SentencePairBatch>>(
        [this, sizes = train_->sizes()](int64_t epoch) { return text_batches(sizes, epoch, options_, 16, kOp); },
        [this](const data::IndexBatch& indices, int64_t epoch) { return (*train_)(indices, epoch); }, options_.workers);
  }

  void set_data_parallel_rank(int rank, int world_size) override { train_batches_->set_rank(rank, world_size); }
  void begin_epoch(int64_t epoch) override { train_batches_->begin_epoch(epoch); }
  int64_t batches_per_epoch() const override { return train_batches_->batches_per_epoch(); }

  train::MicroBatchLoss train_loss(int64_t index) override {
    const data::SentencePairBatch batch = train_batches_->batch(index);
    return {model_.loss(batch.tokens, batch.labels), batch.labels.size(0)};
  }

  train::Metrics evaluate_split(const std::string& split) override {
    const std::unique_ptr<data::SentencePairBatchMaker> examples = read_split(split);
    const int64_t batch_size = options_.eval_batch_size > 0 ? options_.eval_batch_size
                               : options_.batch_size > 0    ? options_.batch_size
                                                            : 16;
    ClassificationMeter meter;
    for (const data::IndexBatch& indices : in_order(examples->size(), batch_size)) {
      const data::SentencePairBatch batch = (*examples)(indices, 0);
      meter.add(model_.run(batch.tokens, batch.labels), batch.labels);
    }
    return meter.metrics();
  }

  std::pair<std::string, bool> best_metric() const override { return {"accuracy", true}; }

 private:
  std::unique_ptr<data::SentencePairBatchMaker> read_split(const std::string& split) const {
    const std::string file = split == "train"   ? "train.tsv"
                             : split == "valid" ? "dev.tsv"
                             : split == "test"  ? "test.tsv"
                                                : "";
    QN_CHECK(!file.empty(), kOp, "the splits are train, valid (dev.tsv) and test, not '", split, "'");
    const fs::path path = fs::path(options_.data) / file;
    QN_CHECK(fs::is_regular_file(path), kOp, "'", options_.data, "' has no ", file);
    std::vector<std::vector<int64_t>> inputs;
    std::vector<int64_t> labels;
    for (const data::GlueExample& example : data::read_glue_tsv(path.string(), glue_)) {
      QN_CHECK(example.label >= 0, kOp, path.string(), " line ", example.line, " has no label: ", split,
               " cannot be scored");
      inputs.push_back(encoder_->encode(example.sentence1, example.sentence2));
      labels.push_back(example.label);
    }
    QN_CHECK(!inputs.empty(), kOp, path.string(), " has no examples");
    return std::make_unique<data::SentencePairBatchMaker>(std::move(inputs), std::move(labels),
                                                          data::RobertaInputEncoder::kPad);
  }

  TaskOptions options_;
  const data::GlueTask& glue_;
  int64_t vocabulary_ = 0;
  std::unique_ptr<data::RobertaInputEncoder> encoder_;
  std::unique_ptr<data::SentencePairBatchMaker> train_;
  std::unique_ptr<TrainingBatches<data::SentencePairBatch>> train_batches_;
  models::BuiltModel model_;
};

}  // namespace

std::unique_ptr<Task> make_sentence_prediction_task(const TaskOptions& options) {
  return std::make_unique<SentencePredictionTask>(options);
}

}  // namespace qn::tasks
