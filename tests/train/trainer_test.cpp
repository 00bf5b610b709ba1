// The training loop: accumulation and clipping against hand-computed updates, exact resume, SIGTERM at an
// update boundary, NaN handling, logs and the progress display.
#include "train/trainer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "autograd/ops.h"
#include "core/parallel.h"
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "tests/reference.h"
#include "train/adam.h"
#include "train/progress.h"
#include "train/sgd.h"

namespace qn::train {
namespace {

namespace fs = std::filesystem;
using testing::at;

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("qn_trainer_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Regression on fixed random data in shuffled batches of 8: the order of epoch e is randperm from
// (seed 7, stream position e), so batches are a pure function of (epoch, index).
struct RegressionTask : TrainingTask {
  RegressionTask(nn::Module& m, int64_t samples) : model(m) {
    Generator data(5);
    x = randn({samples, 4}, DType::f32, &data);
    y = randn({samples, 1}, DType::f32, &data);
  }
  void begin_epoch(int64_t epoch) override {
    epoch_seen = epoch;
    Generator shuffle(7);
    shuffle.set_offset(static_cast<uint64_t>(epoch) * 1000);
    order = randperm(x.shape()[0], &shuffle);
  }
  int64_t batches_per_epoch() const override { return x.shape()[0] / 8; }
  MicroBatchLoss train_loss(int64_t index) override {
    const Tensor rows = order.narrow(0, index * 8, 8);
    Tensor loss = mse_loss(model(index_select(x, 0, rows)), index_select(y, 0, rows));
    if (index == poison_index && (poison_epoch < 0 || poison_epoch == epoch_seen)) loss = mul(loss, poison);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    return {loss, 8};
  }
  Metrics evaluate() override {
    ++evaluations;
    return {{"loss", mse_loss(model(x), y).item<double>()}};
  }

  nn::Module& model;
  Tensor x, y, order;
  int64_t epoch_seen = 0;
  int64_t poison_epoch = -1, poison_index = -1;  // multiply that batch's loss by poison (epoch -1: every epoch)
  double poison = std::numeric_limits<double>::quiet_NaN();
  std::chrono::milliseconds delay{0};
  int evaluations = 0;
};

// A model, its optimizer and generator, built the same way from a seed.
struct TrainingSetup {
  explicit TrainingSetup(uint64_t seed, int64_t samples = 64) : generator(seed), task(model, samples) {
    manual_seed(seed);
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(4, 16)));
    model.push_back(std::make_shared<nn::ReLU>());
    model.push_back(std::make_shared<nn::Dropout>(0.1, &generator));
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(16, 1)));
    optimizer = std::make_unique<Adam>(std::vector<ParamGroup>{{model.parameters(), 1e-2, 0.0}}, AdamOptions{});
  }
  TrainingResult fit(TrainerOptions options) {
    options.progress = ProgressStyle::kNone;
    options.handle_signals = false;
    Trainer trainer(model, *optimizer, &schedule, generator, task, {"regression", {{"hidden", 16}}, {}}, options);
    return trainer.fit();
  }
  Generator generator;
  nn::Sequential model;
  RegressionTask task;
  std::unique_ptr<Adam> optimizer;
  InverseSqrtSchedule schedule{1e-2, 5};
};

std::vector<nlohmann::json> read_log(const fs::path& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

std::vector<nlohmann::json> events(const std::vector<nlohmann::json>& log, const std::string& event) {
  std::vector<nlohmann::json> out;
  for (const auto& r : log)
    if (r.at("event") == event) out.push_back(r);
  return out;
}

void expect_same_parameters(const nn::Module& a, const nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    for (const auto& index : testing::all_indices(pa[i].tensor.shape()))
      ASSERT_EQ(at(pa[i].tensor, index), at(pb[i].tensor, index)) << pa[i].name;
  }
}

TEST(Trainer, ResumedRunReplaysTheUninterruptedOneBitForBit) {
  const fs::path whole_dir = scratch_dir("whole"), split_dir = scratch_dir("split");
  TrainerOptions options;
  options.max_epochs = 10;
  options.max_updates = 30;
  options.log_interval = 1;
  options.update_freq = 2;  // 4 updates per epoch of 8 batches: the split falls mid-epoch
  options.clip_norm = 0.5;
  TrainingSetup whole(1);
  options.save_dir = whole_dir.string();
  const TrainingResult full = whole.fit(options);
  EXPECT_EQ(full.progress.num_updates, 30);
  EXPECT_EQ(full.progress.epoch, 7);          // 30 updates = 7 epochs of 4 and 2 updates more
  EXPECT_EQ(full.progress.data_position, 4);  // 2 updates x 2 micro-batches

  options.save_dir = split_dir.string();
  options.max_updates = 18;
  TrainingSetup first(1);
  first.fit(options);
  TrainingSetup second(99);  // other weights and RNG: everything must come from the checkpoint
  options.max_updates = 30;
  options.resume = true;
  const TrainingResult resumed = second.fit(options);
  EXPECT_EQ(resumed.progress.num_updates, 30);
  expect_same_parameters(whole.model, second.model);

  const auto whole_train = events(read_log(whole_dir / "train_log.jsonl"), "train");
  const auto split_train = events(read_log(split_dir / "train_log.jsonl"), "train");
  ASSERT_EQ(whole_train.size(), 30u);
  ASSERT_EQ(split_train.size(), 30u);  // the resumed run appended to the log
  for (size_t i = 0; i < 30; ++i) {
    EXPECT_EQ(split_train[i].at("update"), whole_train[i].at("update"));
    EXPECT_EQ(split_train[i].at("loss").get<double>(), whole_train[i].at("loss").get<double>()) << "update " << i + 1;
    EXPECT_EQ(split_train[i].at("lr").get<double>(), whole_train[i].at("lr").get<double>());
  }
  fs::remove_all(whole_dir);
  fs::remove_all(split_dir);
}

// With update_freq k the update uses the mean of the k micro-batch gradients: SGD's step equals
// -lr * mean(g_i), with g_i computed here one batch at a time.
TEST(Trainer, AccumulatedUpdateIsTheMeanOfMicroBatchGradients) {
  for (const double clip : {0.0, 1e-3}) {
    manual_seed(3);
    nn::Linear model(nn::LinearOptions(4, 1));
    RegressionTask task(model, 24);
    task.begin_epoch(0);
    std::vector<Tensor> mean_grad;
    for (const Tensor& p : model.parameters()) mean_grad.push_back(zeros_like(p));
    for (int64_t i = 0; i < 3; ++i) {
      model.zero_grad();
      task.train_loss(i).loss.backward();
      const auto params = model.parameters();
      for (size_t j = 0; j < params.size(); ++j) mean_grad[j] = add(mean_grad[j], mul(params[j].grad(), 1.0 / 3));
    }
    double norm_sq = 0;
    for (const Tensor& g : mean_grad)
      for (const auto& index : testing::all_indices(g.shape())) norm_sq += at(g, index) * at(g, index);
    const double scale = clip > 0 ? clip / (std::sqrt(norm_sq) + 1e-6) : 1.0;
    std::vector<Tensor> before;
    for (const Tensor& p : model.parameters()) before.push_back(p.detach().clone());

    Sgd sgd({{model.parameters(), 0.1, 0.0}}, SgdOptions{});
    Generator gen(1);
    TrainerOptions options;
    options.update_freq = 3;
    options.max_updates = 1;
    options.clip_norm = clip;
    options.progress = ProgressStyle::kNone;
    options.handle_signals = false;
    options.eval_each_epoch = false;
    Trainer(model, sgd, nullptr, gen, task, {"linear", {}, {}}, options).fit();
    const auto params = model.parameters();
    for (size_t j = 0; j < params.size(); ++j) {
      for (const auto& index : testing::all_indices(params[j].shape())) {
        const double expected = at(before[j], index) - 0.1 * scale * at(mean_grad[j], index);
        EXPECT_NEAR(at(params[j], index), expected, 1e-6 * (1 + std::abs(expected))) << "clip " << clip;
      }
    }
  }
}

TEST(Trainer, NonFiniteLossStopsNamingTheUpdateAndTheLastCheckpoint) {
  const fs::path dir = scratch_dir("nan");
  TrainingSetup run(1);
  run.task.poison_epoch = 0;
  run.task.poison_index = 6;
  TrainerOptions options;
  options.max_epochs = 3;
  options.save_dir = dir.string();
  options.save_interval_updates = 4;
  const std::string checkpoint =
      "last good checkpoint: " + (dir / "checkpoint_last.safetensors").string() + " (update 4)";
  EXPECT_QN_ERROR(run.fit(options), "Trainer", "loss is nan at update 7", "epoch 1, batch 6", checkpoint.c_str());
  const auto log = read_log(dir / "train_log.jsonl");
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().at("event"), "diverged");
  EXPECT_EQ(log.back().at("loss"), "nan");

  TrainingSetup fresh(2);
  fresh.task.poison_epoch = 0;
  fresh.task.poison_index = 1;
  fresh.task.poison = std::numeric_limits<double>::infinity();
  options.save_dir.clear();
  options.log_path.clear();
  EXPECT_QN_ERROR(fresh.fit(options), "loss is inf at update 2", "no checkpoint was written yet");
  fs::remove_all(dir);
}

TEST(Trainer, SkipModeDropsTheBadUpdateAndGoesOn) {
  const fs::path dir = scratch_dir("skip");
  TrainingSetup run(1);
  run.task.poison_index = 6;
  TrainerOptions options;
  options.max_epochs = 2;
  options.log_interval = 1;
  options.save_dir = dir.string();
  options.on_non_finite = NonFiniteLoss::kSkip;
  const TrainingResult result = run.fit(options);
  EXPECT_EQ(result.skipped_updates, 2);           // batch 6 of both epochs
  EXPECT_EQ(result.progress.num_updates, 2 * 7);  // 8 batches per epoch, one skipped in each
  EXPECT_EQ(result.progress.epoch, 2);
  const auto log = read_log(dir / "train_log.jsonl");
  EXPECT_EQ(events(log, "skip").size(), 2u);
  EXPECT_EQ(events(log, "valid").size(), 2u);
  for (const auto& r : events(log, "train")) EXPECT_TRUE(std::isfinite(r.at("loss").get<double>()));
  for (const Tensor& p : run.model.parameters())
    for (const auto& index : testing::all_indices(p.shape())) ASSERT_TRUE(std::isfinite(at(p, index)));
  fs::remove_all(dir);
}

// Scaling by a power of two and back is exact in floating point, so a run with a loss scaler takes the very steps of
// one without, while the scale grows every growth_interval updates: 2^10 x 2^floor(n / 3) after update n.
TEST(Trainer, LossScalingByPowersOfTwoLeavesTheRunUnchanged) {
  const fs::path dir = scratch_dir("scaled");
  TrainerOptions options;
  options.max_epochs = 2;
  options.log_interval = 1;
  TrainingSetup plain(1);
  plain.fit(options);
  TrainingSetup scaled(1);
  options.loss_scale = LossScalerOptions{.init_scale = 1024, .growth_interval = 3};
  options.save_dir = dir.string();
  const TrainingResult result = scaled.fit(options);
  EXPECT_EQ(result.overflowed_updates, 0);
  expect_same_parameters(plain.model, scaled.model);
  const auto train = events(read_log(dir / "train_log.jsonl"), "train");
  ASSERT_EQ(train.size(), 16u);
  for (const auto& record : train) {
    const int64_t n = record.at("update").get<int64_t>();
    EXPECT_EQ(record.at("loss_scale").get<double>(), std::ldexp(1024.0, static_cast<int>(n / 3))) << "update " << n;
  }
  fs::remove_all(dir);
}

// A loss of 1e36 is finite in f32; scaled by 2^10 its gradients are not. That update is skipped and the scale backs
// off, and the run takes the very steps of one that skipped the same batches for a NaN loss. The scale, worked by
// hand with growth every 3 good updates: 2^12 after batches 0-5, 2^11 after the overflow at batch 6; in epoch 2,
// 2^12 after batch 1, 2^13 after batch 4, 2^12 after the overflow.
TEST(Trainer, AnOverflowSkipsTheUpdateAndBacksOffTheScale) {
  const fs::path dir = scratch_dir("overflow");
  TrainerOptions options;
  options.max_epochs = 2;
  options.log_interval = 1;
  TrainingSetup skipping(1);
  skipping.task.poison_index = 6;
  options.on_non_finite = NonFiniteLoss::kSkip;
  const TrainingResult skipped = skipping.fit(options);
  EXPECT_EQ(skipped.skipped_updates, 2);

  TrainingSetup scaled(1);
  scaled.task.poison_index = 6;
  scaled.task.poison = 1e36;
  options.on_non_finite = NonFiniteLoss::kStop;  // the loss stays finite: only the scaler may skip
  options.loss_scale = LossScalerOptions{.init_scale = 1024, .growth_interval = 3};
  options.save_dir = dir.string();
  const TrainingResult result = scaled.fit(options);
  EXPECT_EQ(result.skipped_updates, 2);
  EXPECT_EQ(result.overflowed_updates, 2);
  EXPECT_EQ(result.progress.num_updates, 2 * 7);
  expect_same_parameters(skipping.model, scaled.model);
  const auto overflows = events(read_log(dir / "train_log.jsonl"), "overflow");
  ASSERT_EQ(overflows.size(), 2u);
  EXPECT_EQ(overflows[0].at("loss_scale").get<double>(), 2048);
  EXPECT_EQ(overflows[1].at("loss_scale").get<double>(), 4096);
  fs::remove_all(dir);
}

// The scale and its growth count travel in the checkpoint: a run resumed at update 8 (2 updates toward the next
// growth) logs the scales the uninterrupted run does.
TEST(Trainer, ResumedRunKeepsItsLossScale) {
  const fs::path whole_dir = scratch_dir("scale_whole"), split_dir = scratch_dir("scale_split");
  TrainerOptions options;
  options.max_epochs = 2;
  options.log_interval = 1;
  options.loss_scale = LossScalerOptions{.init_scale = 1024, .growth_interval = 3};
  TrainingSetup whole(1);
  options.save_dir = whole_dir.string();
  whole.fit(options);
  options.save_dir = split_dir.string();
  options.max_updates = 8;
  TrainingSetup first(1);
  first.fit(options);
  options.max_updates = 0;
  options.resume = true;
  TrainingSetup second(99);
  second.fit(options);
  expect_same_parameters(whole.model, second.model);
  const auto whole_train = events(read_log(whole_dir / "train_log.jsonl"), "train");
  const auto split_train = events(read_log(split_dir / "train_log.jsonl"), "train");
  ASSERT_EQ(whole_train.size(), 16u);
  ASSERT_EQ(split_train.size(), 16u);
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(split_train[i].at("loss_scale").get<double>(), whole_train[i].at("loss_scale").get<double>())
        << "update " << i + 1;
  }
  fs::remove_all(whole_dir);
  fs::remove_all(split_dir);
}

// Mixed precision: the forward under autocast, the parameters in f32. bf16 follows the f32 run's losses to its
// precision. f16 needs the loss scaler: at 2^16 the first gradients overflow f16's 65504, those updates are
// skipped and the scale backs off until they fit; the run goes on to finite parameters.
TEST(Trainer, MixedPrecisionFollowsTheF32Run) {
  const fs::path f32_dir = scratch_dir("amp_f32"), bf16_dir = scratch_dir("amp_bf16"), f16_dir = scratch_dir("amp_f16");
  TrainerOptions options;
  options.max_epochs = 2;
  options.log_interval = 1;
  options.save_dir = f32_dir.string();
  TrainingSetup plain(1);
  plain.fit(options);
  TrainingSetup bf16(1);
  options.amp = DType::bf16;
  options.save_dir = bf16_dir.string();
  bf16.fit(options);
  const auto plain_train = events(read_log(f32_dir / "train_log.jsonl"), "train");
  const auto bf16_train = events(read_log(bf16_dir / "train_log.jsonl"), "train");
  ASSERT_EQ(bf16_train.size(), plain_train.size());
  for (size_t i = 0; i < plain_train.size(); ++i) {
    const double want = plain_train[i].at("loss").get<double>();
    EXPECT_NEAR(bf16_train[i].at("loss").get<double>(), want, 3e-2 * want) << "update " << i + 1;
  }
  for (const Tensor& p : bf16.model.parameters()) EXPECT_EQ(p.dtype(), DType::f32);

  TrainingSetup f16(1);
  options.amp = DType::f16;
  options.loss_scale = LossScalerOptions{};
  options.save_dir = f16_dir.string();
  const TrainingResult result = f16.fit(options);
  EXPECT_GT(result.overflowed_updates, 0);
  EXPECT_EQ(result.progress.num_updates + result.overflowed_updates, 16);
  const auto overflows = events(read_log(f16_dir / "train_log.jsonl"), "overflow");
  ASSERT_FALSE(overflows.empty());
  EXPECT_EQ(overflows[0].at("loss_scale").get<double>(), 32768);
  for (const Tensor& p : f16.model.parameters())
    for (const auto& index : testing::all_indices(p.shape())) ASSERT_TRUE(std::isfinite(at(p, index)));
  for (const fs::path& dir : {f32_dir, bf16_dir, f16_dir}) fs::remove_all(dir);
}

TEST(Trainer, EvaluatesEveryNUpdatesAndKeepsTheBest) {
  const fs::path dir = scratch_dir("eval");
  TrainingSetup run(1);
  TrainerOptions options;
  options.max_epochs = 2;
  options.eval_interval_updates = 3;
  options.save_dir = dir.string();
  options.best_metric = "loss";
  const TrainingResult result = run.fit(options);
  // Updates 3, 6, 9, 12, 15 and the ends of epochs 1 (update 8) and 2 (update 16).
  EXPECT_EQ(run.task.evaluations, 7);
  ASSERT_EQ(result.last_eval.size(), 1u);
  EXPECT_EQ(result.last_eval[0].first, "loss");
  EXPECT_TRUE(fs::exists(dir / "checkpoint_best.safetensors"));
  EXPECT_EQ(result.last_checkpoint, (dir / "checkpoint_last.safetensors").string());
  fs::remove_all(dir);
}

// SIGTERM mid-run: the child saves at the next update boundary and stops; the checkpoint holds the last
// logged update, and resuming from it reaches the same parameters as a run never stopped.
TEST(Trainer, SigtermSavesAtTheUpdateBoundaryAndResumesExactly) {
  const fs::path dir = scratch_dir("sigterm");
  TrainerOptions options;
  options.max_epochs = 6;
  options.log_interval = 1;
  options.save_dir = dir.string();
  options.progress = ProgressStyle::kNone;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    set_num_threads(1);  // no OpenMP in a forked child
    TrainingSetup run(1);
    run.task.delay = std::chrono::milliseconds(30);
    Trainer trainer(run.model, *run.optimizer, &run.schedule, run.generator, run.task,
                    {"regression", {{"hidden", 16}}, {}}, options);
    const TrainingResult result = trainer.fit();
    _exit(result.outcome == TrainingOutcome::kInterrupted ? 0 : 3);
  }
  const fs::path log_path = dir / "train_log.jsonl";
  for (int i = 0; i < 1000 && (!fs::exists(log_path) || events(read_log(log_path), "train").size() < 5); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of the signal instead of stopping cleanly";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the run was not reported as interrupted";
  const auto train = events(read_log(log_path), "train");
  ASSERT_GE(train.size(), 5u);
  ASSERT_LT(train.size(), 48u);  // stopped well before the end

  TrainingSetup probe(42);
  Generator gen(0);
  const CheckpointInfo info = load_checkpoint((dir / "checkpoint_last.safetensors").string(), probe.model, nullptr, gen,
                                              "regression", {{"hidden", 16}});
  EXPECT_EQ(info.progress.num_updates, train.back().at("update").get<int64_t>());

  TrainingSetup resumed(99);
  options.resume = true;
  options.handle_signals = false;
  resumed.fit(options);
  TrainingSetup whole(1);
  options.resume = false;
  options.save_dir.clear();
  options.log_path.clear();
  whole.fit(options);
  expect_same_parameters(whole.model, resumed.model);
  fs::remove_all(dir);
}

// With an epoch limit too large to matter (qn train without --max-epoch once passed INT64_MAX), the ETA comes
// from max_updates; it used to overflow and read 0:00 all run long.
TEST(Trainer, EtaFollowsMaxUpdatesUnderAHugeEpochLimit) {
  TrainingSetup setup(17);
  setup.task.delay = std::chrono::milliseconds(40);  // 28 updates left after 2: at least 1.1 s
  TrainerOptions options;
  options.max_epochs = std::numeric_limits<int64_t>::max() / 2;
  options.max_updates = 30;
  options.log_interval = 2;
  options.eval_each_epoch = false;
  options.progress = ProgressStyle::kLines;
  options.handle_signals = false;
  std::ostringstream out;
  Trainer trainer(setup.model, *setup.optimizer, &setup.schedule, setup.generator, setup.task,
                  {"regression", {{"hidden", 16}}, {}}, options);
  trainer.set_output(out);
  trainer.fit();
  const std::string text = out.str();
  const size_t line = text.find("| update 2 |");
  ASSERT_NE(line, std::string::npos) << text;
  const std::string first = text.substr(line, text.find('\n', line) - line);
  EXPECT_NE(first.find("ETA"), std::string::npos) << first;
  EXPECT_EQ(first.find("ETA 0:00"), std::string::npos) << first;
}

TEST(Trainer, RejectsOptionsThatCannotRun) {
  TrainingSetup run(1);
  TrainerOptions options;
  options.update_freq = 0;
  EXPECT_QN_ERROR(run.fit(options), "Trainer", "update_freq must be >= 1");
  options = {};
  options.resume = true;
  EXPECT_QN_ERROR(run.fit(options), "resume needs a save_dir");
}

TEST(ProgressDisplay, LinesOnAFileAndOneRedrawnBarOnATerminal) {
  ProgressState s;
  s.epoch = 2;
  s.batch = 50;
  s.batches_per_epoch = 100;
  s.num_updates = 150;
  s.loss = 0.25;
  s.lr = 1e-3;
  s.samples_per_second = 1234;
  s.eta_seconds = 3725;
  EXPECT_EQ(ProgressDisplay::format(s),
            "epoch 2 50/100 | update 150 | loss 0.2500 | lr 0.001 | 1234 samples/s | ETA 1:02:05");
  EXPECT_EQ(ProgressDisplay::format_duration(83), "1:23");
  EXPECT_EQ(ProgressDisplay::format_duration(-1), "?");

  std::ostringstream lines;
  {
    ProgressDisplay display(lines, false);
    display.show(s, true);  // nothing without a bar
    display.line("valid | loss 0.2");
  }
  EXPECT_EQ(lines.str(), "valid | loss 0.2\n");

  std::ostringstream bar;
  {
    ProgressDisplay display(bar, true);
    display.show(s, true);
    display.line("valid | loss 0.2");
  }
  const std::string out = bar.str();
  EXPECT_NE(out.find("\r\x1b[K[##########..........] epoch 2 50/100"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\x1b[Kvalid | loss 0.2\n\r\x1b[K[####"), std::string::npos) << out;  // message, then redraw
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace qn::train
