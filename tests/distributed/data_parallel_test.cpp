// The Trainer across ranks (run alone and under `mpiexec -n 2`, label mpi): W ranks with batch B end where
// one process with batch W*B ends, after 20 updates, with and without Quant-Noise, iPQ stages and
// synchronized BatchNorm (rtol 1e-5 in f32). Both runs happen in every process: the reference with the group
// of one, on the whole batches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "autograd/ops.h"
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/pool.h"
#include "nn/quant/ipq_config.h"
#include "train/distributed/sync_batch_norm.h"
#include "train/ipq.h"
#include "train/sgd.h"
#include "train/trainer.h"

namespace qn::train {
namespace {

distributed::ProcessGroup& world() {
  static std::unique_ptr<distributed::ProcessGroup> g = distributed::make_process_group();
  return *g;
}

// Regression on fixed data in shuffled batches of `batch`: batches are a pure function of (epoch, index).
struct RegressionTask : TrainingTask {
  RegressionTask(nn::Module& m, int64_t batch_size) : model(m), batch(batch_size) {
    Generator data(5);
    x = randn({96, 4}, DType::f32, &data);
    y = randn({96, 4}, DType::f32, &data);
  }
  void begin_epoch(int64_t epoch) override {
    Generator shuffle(7);
    shuffle.set_offset(static_cast<uint64_t>(epoch) * 1000);
    order = randperm(x.shape()[0], &shuffle);
  }
  int64_t batches_per_epoch() const override { return x.shape()[0] / batch; }
  MicroBatchLoss train_loss(int64_t index) override {
    const Tensor rows = order.narrow(0, index * batch, batch);
    return {mse_loss(model(index_select(x, 0, rows)), index_select(y, 0, rows)), batch};
  }
  Metrics evaluate() override { return {{"loss", mse_loss(model(x), y).item<double>()}}; }

  nn::Module& model;
  int64_t batch;
  Tensor x, y, order;
};

// Trains 20 updates of SGD with momentum at the given batch, with or without the group, and returns the
// parameters. update_freq 2: each update accumulates two micro-batches (reduced once). With ipq, two iPQ
// stages (before updates 0 and 10) cluster the two Linear layers on rank 0 alone; the other ranks' layers
// take the PQ shapes, zero-filled, until rank 0's centroids and codes reach them. With noise, proxy Quant-Noise on the
// first layer and int8 on the second: one mask per micro-batch for the whole batch, as one process draws it.
struct Case {
  bool ipq = false;
  bool noise = false;
  // Synchronized BatchNorm between the layers (its input seen as 4 channels of 2x2 planes): the running
  // statistics and the gradients through the batch statistics must match the whole batch's too.
  bool batch_norm = false;
};

// (N, 16) <-> (N, 4, 2, 2)
struct Planes : nn::Module {
  Planes() : Module("Planes") {}
  Tensor forward(const Tensor& x) override { return x.reshape({x.size(0), 4, 2, 2}); }
};

std::vector<Tensor> train(int64_t batch, distributed::ProcessGroup* group, const Case& c) {
  manual_seed(3);  // the same initial weights everywhere (the Trainer broadcasts rank 0's anyway)
  nn::quant::QuantNoise proxy, int8;
  if (c.noise) {
    proxy = {.p = 0.25, .block_size = 4};
    int8 = {.p = 0.5, .mode = nn::quant::NoiseMode::kInt8};
  }
  nn::Sequential model;
  model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(4, 16).quant_noise(proxy)));
  if (c.batch_norm) {
    model.push_back(std::make_shared<Planes>());
    model.push_back(std::make_shared<nn::BatchNorm2d>(nn::BatchNorm2dOptions(4)));
    model.push_back(std::make_shared<nn::Flatten>());
    EXPECT_EQ(distributed::synchronize_batch_norm(model, group), 1);
  }
  model.push_back(std::make_shared<nn::Tanh>());
  model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(16, 4).quant_noise(int8)));
  SgdOptions sgd;
  sgd.momentum = 0.9;
  Sgd optimizer({{model.parameters(), 0.05, 0.0}}, sgd);
  // The default generator, as qn train uses: the one weight noise would draw from if the Trainer did not
  // give it its own stream.
  Generator& generator = default_generator();
  RegressionTask task(model, batch);
  TrainerOptions options;
  options.max_epochs = 100;
  options.max_updates = 20;
  options.update_freq = 2;
  options.progress = ProgressStyle::kNone;
  options.handle_signals = false;
  options.eval_each_epoch = false;
  options.process_group = group;
  Trainer trainer(model, optimizer, nullptr, generator, task, {"regression", {}, {}}, options);
  std::unique_ptr<IpqSchedule> stages;
  if (c.ipq) {
    const nn::quant::IpqConfig config = nn::quant::IpqConfig::parse(
        "n_centroids: {Linear: {key: in_features, value: {'*': 4}}}\n"
        "block_sizes: {Linear: {key: fuzzy_name, value: {'*': 4}}}\n"
        "layers_to_quantize: ['0$', '" +
        std::to_string(model.size() - 1) + "$']\n");
    stages = std::make_unique<IpqSchedule>(model, config,
                                           IpqScheduleOptions{.max_updates = 20,
                                                              .param_groups = {},
                                                              .generator = &generator,
                                                              .cluster = group == nullptr || group->rank() == 0});
    trainer.set_hooks(stages.get());
  }
  const TrainingResult result = trainer.fit();
  EXPECT_EQ(result.progress.num_updates, 20);
  if (c.ipq) {
    EXPECT_EQ(stages->stages_done(), 2);
  }
  std::vector<Tensor> out;
  for (const Tensor& p : model.parameters()) out.push_back(p.detach().clone());
  for (const NamedTensor& b : model.named_buffers()) out.push_back(b.tensor.clone());  // iPQ's codes
  return out;
}

void expect_same_training(const Case& c) {
  const int64_t per_rank = 4;
  const std::vector<Tensor> parallel = train(per_rank, &world(), c);
  const std::vector<Tensor> whole = train(per_rank * world().world_size(), nullptr, c);
  ASSERT_EQ(parallel.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    ASSERT_EQ(parallel[i].shape(), whole[i].shape()) << "tensor " << i;
    const Tensor a = parallel[i].to(DType::f64), e = whole[i].to(DType::f64);
    for (int64_t k = 0; k < e.numel(); ++k) {
      const double expected = e.data_ptr<double>()[k];
      EXPECT_NEAR(a.data_ptr<double>()[k], expected, 1e-5 * std::abs(expected) + 1e-6)
          << "tensor " << i << "[" << k << "]";
    }
  }
}

TEST(DataParallel, RanksWithBatchBEndWhereOneProcessWithWTimesBEnds) { expect_same_training({}); }

TEST(DataParallel, ThroughIpqStagesToo) { expect_same_training({.ipq = true}); }

TEST(DataParallel, WithQuantNoiseToo) { expect_same_training({.noise = true}); }

TEST(DataParallel, WithQuantNoiseThroughIpqStages) { expect_same_training({.ipq = true, .noise = true}); }

TEST(DataParallel, WithSynchronizedBatchNorm) { expect_same_training({.batch_norm = true}); }

}  // namespace
}  // namespace qn::train
