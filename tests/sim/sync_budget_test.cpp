// The host-synchronization budget: a training update on a device reads back at most one value a micro-batch (its
// loss) and one a update (what the host must know before stepping: the ranks' agreement, the loss scale's overflow,
// the gradient norm); evaluation at most one a batch. Counted on the simulated device, where every read back is
// a transfer a GPU would wait for (core/device_reads.h). A new synchronization fails here with its call site.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/device_reads.h"
#include "nn/quantizable.h"
#include "tests/sim/tiny_data.h"
#include "tools/tasks/task.h"
#include "train/adam.h"
#include "train/distributed/process_group.h"

namespace qn {
namespace {

namespace fs = std::filesystem;

const Device kSim = Device::sim(0);

// Reads made by each update, taken between the hooks' calls before consecutive updates.
class ReadsPerUpdate : public train::TrainingHooks {
 public:
  void before_update(int64_t num_updates, train::Optimizer&) override {
    if (num_updates > 0) {
      reads.push_back(device_reads());
      sites.push_back(device_read_sites());
    }
    reset_device_reads();
  }
  nlohmann::json state() const override { return nullptr; }
  void restore(const nlohmann::json&, train::Optimizer&) override {}

  std::vector<int64_t> reads;
  std::vector<std::vector<std::string>> sites;
};

std::string joined(const std::vector<std::string>& lines) {
  return std::accumulate(lines.begin(), lines.end(), std::string(),
                         [](std::string all, const std::string& line) { return std::move(all) + "\n  " + line; });
}

struct Case {
  std::string name;
  tasks::TaskOptions task;
  std::string arch;
  nlohmann::json overrides;
  std::string product_quantized;  // layers whose names contain this train as centroids and codes (iPQ's stages)
};

class SyncBudget : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("qn_sync_budget_" + std::to_string(getpid()));
    data_ = new testing::TinyData(testing::write_tiny_data(dir_.string()));
  }
  static void TearDownTestSuite() {
    fs::remove_all(dir_);
    delete data_;
  }

  static Case make_case(const std::string& name) {
    tasks::TaskOptions t;
    t.workers = 0;
    if (name == "lm") {
      t.task = "language_modeling";
      t.data = data_->text;
      t.tokens_per_sample = 32;
      t.batch_size = 4;
      return {name,
              t,
              "transformer_lm_tiny",
              {{"cutoffs", {8, 20}}, {"quant_noise_pq", 0.1}, {"quant_noise_pq_block_size", 4}},
              ""};
    }
    if (name == "lm_ipq") {
      Case c = make_case("lm");
      c.name = name;
      c.product_quantized = ".fc";
      return c;
    }
    if (name == "roberta_mlm") {
      t.task = "masked_lm";
      t.data = data_->text;
      t.tokens_per_sample = 32;
      t.batch_size = 4;
      return {name, t, "roberta_tiny", {{"quant_noise_pq", 0.1}}, ""};
    }
    if (name == "roberta_sentence") {
      t.task = "sentence_prediction";
      t.data = data_->glue;
      t.bpe_dir = data_->bpe;
      t.batch_size = 4;
      return {name, t, "roberta_tiny", nlohmann::json::object(), ""};
    }
    t.task = "image_classification";
    t.data = data_->images;
    t.batch_size = 8;
    return {name, t, "efficientnet_tiny", {{"quant_noise_pq", 0.1}}, ""};
  }

  static fs::path dir_;
  static testing::TinyData* data_;
};

fs::path SyncBudget::dir_;
testing::TinyData* SyncBudget::data_ = nullptr;

TEST_P(SyncBudget, ATrainingUpdateReadsOnceAMicroBatchAndOnceMore) {
  const Case c = make_case(GetParam());
  manual_seed(1);
  std::unique_ptr<tasks::Task> task = tasks::make_task(c.task);
  nlohmann::json config = task->model_defaults(c.arch);
  for (const auto& [key, value] : c.overrides.items()) config[key] = value;
  models::BuiltModel built = models::build_model(c.arch, config);
  built.to(kSim);
  if (!c.product_quantized.empty()) {  // k-means on the device, before the counted updates
    nn::PqOptions pq;
    pq.block_size = 4;
    pq.kmeans.n_centroids = 8;
    for (const auto& [layer_name, layer] : nn::quantizable_layers(*built.module)) {
      if (layer_name.find(c.product_quantized) != std::string::npos) layer->quantize(pq);
    }
  }
  task->set_model(built);
  train::Adam optimizer({{built.module->parameters(), 1e-3, 0.01}}, train::AdamOptions{});
  // As one GPU trains: the device's process group of one, so the data-parallel path runs too.
  const std::unique_ptr<distributed::ProcessGroup> group = distributed::make_process_group(kSim);
  train::TrainerOptions options;
  options.max_updates = 4;
  options.update_freq = 2;
  options.clip_norm = 1.0;
  options.log_interval = 1000;  // updates that do not log
  options.eval_each_epoch = false;
  options.progress = train::ProgressStyle::kNone;
  options.handle_signals = false;
  options.loss_scale = train::LossScalerOptions{};
  options.process_group = group.get();
  Generator generator(1);
  train::CheckpointInfo identity;
  identity.model_name = c.arch;
  identity.model_config = config;
  train::Trainer trainer(*built.module, optimizer, nullptr, generator, *task, identity, options);
  ReadsPerUpdate hooks;
  trainer.set_hooks(&hooks);
  trace_device_reads(true);
  trainer.fit();
  trace_device_reads(false);
  ASSERT_EQ(hooks.reads.size(), 3u);  // updates 1 to 3 (the 4th ends the run: no hook call after it)
  for (size_t u = 0; u < hooks.reads.size(); ++u) {
    EXPECT_LE(hooks.reads[u], options.update_freq + 1)
        << c.name << ", update " << u + 1 << " read back at" << joined(hooks.sites[u]);
  }
}

TEST_P(SyncBudget, EvaluationReadsOnceABatch) {
  const Case c = make_case(GetParam());
  manual_seed(1);
  tasks::TaskOptions options = c.task;
  options.eval_batch_size = 1024;  // the whole split in one batch
  std::unique_ptr<tasks::Task> task = tasks::make_task(options);
  nlohmann::json config = task->model_defaults(c.arch);
  for (const auto& [key, value] : c.overrides.items()) config[key] = value;
  models::BuiltModel built = models::build_model(c.arch, config);
  built.to(kSim);
  task->set_model(built);
  reset_device_reads();
  trace_device_reads(true);
  const train::Metrics metrics = task->evaluate_split(task->validation_split());
  trace_device_reads(false);
  ASSERT_FALSE(metrics.empty());
  EXPECT_TRUE(std::isfinite(metrics.front().second)) << metrics.front().first;
  EXPECT_GE(device_reads(), 1);  // it did evaluate, on the device
  EXPECT_LE(device_reads(), 1) << c.name << ": evaluation of one batch reads back at" << joined(device_read_sites());
}

INSTANTIATE_TEST_SUITE_P(Models, SyncBudget,
                         ::testing::Values("lm", "lm_ipq", "roberta_mlm", "roberta_sentence", "efficientnet"));

}  // namespace
}  // namespace qn
