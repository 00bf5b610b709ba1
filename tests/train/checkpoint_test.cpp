// Checkpoints: exact resume, config checks, and a writer killed mid-write.
#include "train/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/parallel.h"
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "tests/reference.h"
#include "train/adam.h"

namespace qn::train {
namespace {

namespace fs = std::filesystem;
using testing::at;

fs::path scratch_dir() {
  const fs::path dir = fs::temp_directory_path() / ("qn_ckpt_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}

// A small regression model with dropout, so that resuming must also restore the RNG position.
struct TrainingRun {
  explicit TrainingRun(uint64_t seed) : generator(seed) {
    manual_seed(seed);  // the layers' initialisation
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(8, 16)));
    model.push_back(std::make_shared<nn::ReLU>());
    model.push_back(std::make_shared<nn::Dropout>(0.2, &generator));
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(16, 1)));
    optimizer = std::make_unique<Adam>(std::vector<ParamGroup>{{model.parameters(), 1e-2, 0.0}}, AdamOptions{});
  }
  float step(const Tensor& x, const Tensor& y) {
    const Tensor loss = mse_loss(model(x), y);
    optimizer->zero_grad();
    loss.backward();
    optimizer->step();
    return loss.item<float>();
  }
  Generator generator;
  nn::Sequential model;
  std::unique_ptr<Adam> optimizer;
};

const nlohmann::json kConfig = {{"hidden", 16}, {"dropout", 0.2}};

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  for (const auto& i : testing::all_indices(a.shape())) {
    if (at(a, i) != at(b, i)) return false;
  }
  return true;
}

TEST(Checkpoint, ResumingReplaysTheSameLossesBitForBit) {
  const fs::path path = scratch_dir() / "resume.safetensors";
  Generator data(5);
  const Tensor x = randn({32, 8}, DType::f32, &data);
  const Tensor y = randn({32, 1}, DType::f32, &data);
  TrainingRun first(1);
  for (int i = 0; i < 20; ++i) first.step(x, y);
  save_checkpoint(path, first.model, first.optimizer.get(), first.generator, {"mlp", kConfig, {20, 0, 20}});
  std::vector<float> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(first.step(x, y));

  TrainingRun second(99);  // other initial weights and RNG stream: everything must come from the checkpoint
  const CheckpointInfo info =
      load_checkpoint(path, second.model, second.optimizer.get(), second.generator, "mlp", kConfig);
  EXPECT_EQ(info.progress.num_updates, 20);
  EXPECT_EQ(info.progress.data_position, 20);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(second.step(x, y), expected[i]) << "step " << 20 + i;
  fs::remove_all(path.parent_path());
}

TEST(Checkpoint, RefusesAnotherModelOrConfig) {
  const fs::path path = scratch_dir() / "config.safetensors";
  TrainingRun run(1);
  save_checkpoint(path, run.model, run.optimizer.get(), run.generator, {"mlp", kConfig, {}});
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, nullptr, run.generator, "mlp", {{"hidden", 32}, {"dropout", 0.2}}),
                  "load_checkpoint", "another mlp config", "hidden (16 in the checkpoint, 32 expected)");
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, nullptr, run.generator, "mlp", {{"hidden", 16}}),
                  "dropout (only in the checkpoint)");
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, nullptr, run.generator, "cnn", kConfig),
                  "holds a mlp model, expected cnn");
  save_safetensors(path, {{"model.x", ones({1})}}, {{"quantnoise", R"({"format_version": 7})"}});
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, nullptr, run.generator, "mlp", kConfig), "format version 7");
  save_safetensors(path, {{"x", ones({1})}});
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, nullptr, run.generator, "mlp", kConfig),
                  "not a quantnoise checkpoint");
  fs::remove_all(path.parent_path());
}

// A file whose metadata or optimizer state is bad is refused with a qn::Error and leaves the run as it was
// (fuzz findings: a missing progress field, an optimizer key that is not numbers, were other exceptions).
TEST(Checkpoint, ABadFileChangesNothing) {
  const fs::path path = scratch_dir() / "bad.safetensors";
  TrainingRun saved(1), run(2);
  Generator data(5);
  const Tensor x = randn({8, 8}, DType::f32, &data), y = randn({8, 1}, DType::f32, &data);
  saved.step(x, y);
  run.step(x, y);
  save_checkpoint(path, saved.model, saved.optimizer.get(), saved.generator, {"mlp", kConfig, {}});
  const SafetensorsContent good = load_safetensors(path);
  const auto weight_before = run.model.state_dict().front().tensor.clone();
  const auto optimizer_before = run.optimizer->state_dict();
  const uint64_t offset_before = run.generator.offset();

  nlohmann::json meta = nlohmann::json::parse(good.metadata.at("quantnoise"));
  meta.erase("data_position");
  save_safetensors(path, good.tensors, {{"quantnoise", meta.dump()}});
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, run.optimizer.get(), run.generator, "mlp", kConfig),
                  "malformed metadata", "data_position");
  meta = nlohmann::json::parse(good.metadata.at("quantnoise"));
  meta["rng"]["offset"] = "12x";
  save_safetensors(path, good.tensors, {{"quantnoise", meta.dump()}});
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, run.optimizer.get(), run.generator, "mlp", kConfig),
                  "malformed RNG offset '12x'");

  std::vector<NamedTensor> renamed = good.tensors;
  for (NamedTensor& t : renamed) {
    if (t.name.starts_with("optimizer.0.1.")) t.name = "optimizer.0.x1." + t.name.substr(14);
  }
  save_safetensors(path, renamed, good.metadata);
  EXPECT_QN_ERROR(load_checkpoint(path, run.model, run.optimizer.get(), run.generator, "mlp", kConfig),
                  "unexpected key '0.x1.");
  std::vector<NamedTensor> misfit = good.tensors;
  for (NamedTensor& t : misfit) {
    if (t.name == "model.0.weight") t.tensor = zeros({3, 3});
  }
  save_safetensors(path, misfit, good.metadata);
  EXPECT_THROW(load_checkpoint(path, run.model, run.optimizer.get(), run.generator, "mlp", kConfig), Error);

  EXPECT_TRUE(same_values(run.model.state_dict().front().tensor, weight_before));
  const auto optimizer_after = run.optimizer->state_dict();
  ASSERT_EQ(optimizer_after.size(), optimizer_before.size());
  for (size_t i = 0; i < optimizer_after.size(); ++i) {
    EXPECT_EQ(optimizer_after[i].name, optimizer_before[i].name);
    EXPECT_TRUE(same_values(optimizer_after[i].tensor, optimizer_before[i].tensor)) << optimizer_after[i].name;
  }
  EXPECT_EQ(run.generator.offset(), offset_before);
  fs::remove_all(path.parent_path());
}

// A writer killed while a checkpoint is being written (its temporary file exists) leaves the previous
// checkpoint whole and loadable.
TEST(Checkpoint, AWriterKilledMidWriteLeavesThePreviousCheckpoint) {
  const fs::path dir = scratch_dir();
  const fs::path path = dir / "kill.safetensors";
  nn::Linear big(nn::LinearOptions(2048, 2048));  // 16 MiB: each write takes a while
  {
    NoGradGuard no_grad;
    big.weight.fill_(1.0);
  }
  Generator gen(1);
  save_checkpoint(path, big, nullptr, gen, {"big", {}, {}});
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {      // the writer: rewrite the checkpoint with other values, forever
    set_num_threads(1);  // no OpenMP in a forked child
    {
      NoGradGuard no_grad;
      big.weight.fill_(2.0);
    }
    for (;;) save_checkpoint(path, big, nullptr, gen, {"big", {}, {}});
  }
  bool writing = false;  // wait until a temporary file shows a write in progress, then kill
  for (int i = 0; i < 20000 && !writing; ++i) {
    for (const auto& entry : fs::directory_iterator(dir))
      writing = writing || entry.path().filename().string().find(".tmp.") != std::string::npos;
    if (!writing) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(writing) << "never saw the writer mid-write";
  nn::Linear loaded(nn::LinearOptions(2048, 2048));
  load_checkpoint(path, loaded, nullptr, gen, "big", {});
  const double first = at(loaded.weight, {0, 0});
  EXPECT_TRUE(first == 1.0 || first == 2.0);
  for (int64_t i = 0; i < 2048; i += 97) {  // one whole version, never a mix
    for (int64_t j = 0; j < 2048; j += 89) ASSERT_EQ(at(loaded.weight, {i, j}), first);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qn::train
