// End to end on real data: a small CNN trained on Fashion-MNIST (Debian's dataset-fashion-mnist) with the
// Trainer reaches at least 88% test accuracy. About 50 seconds alone on 2 cores; ctest allows 400.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/parallel.h"
#include "data/idx.h"
#include "kernels/reduce.h"
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/pool.h"
#include "train/adam.h"
#include "train/trainer.h"

namespace qn {
namespace {

namespace fs = std::filesystem;

const fs::path kDataDir = "/usr/share/datasets/fashion-mnist";

// u8 [N, 28, 28] -> f32 [N, 1, 28, 28], standardised with the training set's mean and deviation.
Tensor standardize(const Tensor& images) {
  constexpr double kMean = 0.2860, kStd = 0.3530;  // of the 60,000 training images, pixel / 255
  const Tensor x = images.to(DType::f32).unsqueeze(1);
  return mul(add(x, -255.0 * kMean), 1.0 / (255.0 * kStd));
}

struct FashionMnist : train::TrainingTask {
  FashionMnist(nn::Module& m, int64_t batch) : model(m), batch_size(batch) {
    train_x = standardize(data::read_idx(kDataDir / "train-images-idx3-ubyte.gz"));
    train_y = data::read_idx(kDataDir / "train-labels-idx1-ubyte.gz").to(DType::i64);
    test_x = standardize(data::read_idx(kDataDir / "t10k-images-idx3-ubyte.gz"));
    test_y = data::read_idx(kDataDir / "t10k-labels-idx1-ubyte.gz").to(DType::i64);
  }
  void begin_epoch(int64_t epoch) override {
    Generator shuffle(1234);
    shuffle.set_offset(static_cast<uint64_t>(epoch) * static_cast<uint64_t>(train_x.shape()[0]));
    order = randperm(train_x.shape()[0], &shuffle);
  }
  int64_t batches_per_epoch() const override { return train_x.shape()[0] / batch_size; }
  train::MicroBatchLoss train_loss(int64_t index) override {
    const Tensor rows = order.narrow(0, index * batch_size, batch_size);
    return {cross_entropy(model(index_select(train_x, 0, rows)), index_select(train_y, 0, rows)), batch_size};
  }
  train::Metrics evaluate() override {
    int64_t correct = 0;
    const int64_t n = test_x.shape()[0];
    for (int64_t start = 0; start < n; start += 1000) {
      const int64_t count = std::min<int64_t>(1000, n - start);
      const Tensor predicted = kernels::argmax(model(test_x.narrow(0, start, count)), 1);
      const Tensor labels = test_y.narrow(0, start, count);
      for (int64_t i = 0; i < count; ++i) correct += predicted.data_ptr<int64_t>()[i] == labels.data_ptr<int64_t>()[i];
    }
    return {{"accuracy", static_cast<double>(correct) / static_cast<double>(n)}};
  }

  nn::Module& model;
  int64_t batch_size;
  Tensor train_x, train_y, test_x, test_y, order;
};

// conv 5x5 (16) - pool - conv 5x5 (32) - pool - fc 128 - fc 10: about 100k parameters.
std::shared_ptr<nn::Sequential> small_cnn() {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 16, 5).padding(2)));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(16, 32, 5).padding(2)));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(nn::LinearOptions(32 * 7 * 7, 128)));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::Linear>(nn::LinearOptions(128, 10)));
  return net;
}

TEST(FashionMnist, SmallCnnReachesAtLeast88PercentTestAccuracy) {
  if (!fs::exists(kDataDir / "train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)";
  }
  manual_seed(0);
  auto model = small_cnn();
  FashionMnist task(*model, 64);
  train::Adam adam({{model->parameters(), 1e-3, 0.0}}, train::AdamOptions{});
  train::CosineScheduleOptions cosine;
  cosine.max_lr = 2e-3;
  cosine.min_lr = 1e-4;
  cosine.warmup_updates = 100;
  cosine.warmup_init_lr = 1e-4;
  cosine.max_update = 2 * task.batches_per_epoch();
  train::CosineSchedule schedule(cosine);
  Generator generator(0);

  train::TrainerOptions options;
  options.max_epochs = 2;
  options.log_interval = 100;
  options.progress = train::ProgressStyle::kLines;
  options.handle_signals = false;
  options.save_dir = (fs::temp_directory_path() / ("qn_fashion_" + std::to_string(getpid()))).string();
  train::Trainer trainer(*model, adam, &schedule, generator, task, {"small_cnn", {}, {}}, options);
  const train::TrainingResult result = trainer.fit();
  fs::remove_all(options.save_dir);

  ASSERT_EQ(result.last_eval.size(), 1u);
  const double accuracy = result.last_eval[0].second;
  std::printf("test accuracy %.4f after %lld updates\n", accuracy, static_cast<long long>(result.progress.num_updates));
  EXPECT_GE(accuracy, 0.88);
}

}  // namespace
}  // namespace qn
