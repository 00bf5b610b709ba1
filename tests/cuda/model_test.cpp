// Each model on the GPU against the same model on the CPU: built twice from one seed, one copy moved to cuda:0,
// then the training loss (dropout off) and every parameter's gradient compared, within 1e-4 relative (f32, with
// cuBLAS and cuDNN summing in their own orders). Also a few training updates on the GPU that lower the loss, and
// a Quant-Noise forward whose masks the GPU draws, and training that repeats bit for bit. Label `cuda`.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "core/generator.h"
#include "kernels/determinism.h"
#include "models/registry.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"
#include "train/adam.h"

namespace qn {
namespace {

using testing::at;

const Device kGpu = Device::cuda(0);

struct Case {
  const char* arch;
  nlohmann::json config;
  Tensor inputs, targets;
};

std::vector<Case> cases() {
  Generator gen(11);
  return {
      {"transformer_lm_tiny",
       {{"dropout", 0.0}},
       randint(4, 1000, {2, 12}, DType::i64, &gen),
       randint(4, 1000, {2, 12}, DType::i64, &gen)},
      {"transformer_lm_tiny",
       {{"dropout", 0.0},
        {"adaptive_input", false},
        {"adaptive_softmax", false},
        {"tie_adaptive_weights", false},
        {"tie_adaptive_proj", false}},
       randint(4, 1000, {2, 12}, DType::i64, &gen),
       randint(4, 1000, {2, 12}, DType::i64, &gen)},
      {"roberta_tiny",
       {{"dropout", 0.0}, {"lm_head", false}, {"num_classes", 3}},
       randint(4, 1000, {3, 10}, DType::i64, &gen),
       randint(0, 3, {3}, DType::i64, &gen)},
      {"efficientnet_tiny",
       {{"dropout", 0.0}, {"drop_connect", 0.0}, {"num_classes", 10}},
       testing::random({4, 3, 32, 32}, DType::f32, 12),
       randint(0, 10, {4}, DType::i64, &gen)},
  };
}

void expect_close(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(gpu.device().is_cuda());
  testing::expect_all_close(
      gpu.to(Device::cpu()), cpu.shape(), [&](const auto& idx) { return at(cpu, idx); }, 1e-4, 1e-6);
}

TEST(CudaModels, LossAndGradientsMatchTheCpu) {
  QN_REQUIRE_CUDA();
  for (const Case& c : cases()) {
    SCOPED_TRACE(std::string(c.arch) + " " + c.config.dump());
    manual_seed(5);
    const models::BuiltModel on_cpu = models::build_model(c.arch, c.config);
    manual_seed(5);
    models::BuiltModel on_gpu = models::build_model(c.arch, c.config);
    on_gpu.to(kGpu);
    on_cpu.module->train();  // BatchNorm in training mode; dropout is 0
    on_gpu.module->train();
    const Tensor cpu_loss = on_cpu.loss(c.inputs, c.targets);
    const Tensor gpu_loss = on_gpu.loss(c.inputs, c.targets);  // the inputs travel to the GPU
    expect_close(gpu_loss, cpu_loss, "loss");
    cpu_loss.backward();
    gpu_loss.backward();
    const auto cpu_params = on_cpu.module->named_parameters(), gpu_params = on_gpu.module->named_parameters();
    ASSERT_EQ(cpu_params.size(), gpu_params.size());
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      if (!cpu_params[i].tensor.grad().defined()) continue;
      expect_close(gpu_params[i].tensor.grad(), cpu_params[i].tensor.grad(), "grad of " + cpu_params[i].name);
    }
  }
}

TEST(CudaModels, TrainingOnTheGpuLowersTheLoss) {
  QN_REQUIRE_CUDA();
  manual_seed(6);
  models::BuiltModel model = models::build_model(
      "efficientnet_tiny", {{"num_classes", 10}, {"quant_noise_pq", 0.1}, {"quant_noise_pq_block_size", 8}});
  model.to(kGpu);
  model.module->train();
  const Tensor images = testing::random({8, 3, 32, 32}, DType::f32, 13).to(kGpu);
  const Tensor labels = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7}, {8}).to(kGpu);
  train::Adam adam({train::ParamGroup{model.module->parameters(), 3e-3, 0.0}}, train::AdamOptions{});
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    adam.zero_grad();
    const Tensor loss = model.loss(images, labels);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.5 * first);
}

// Determinism on the GPU with deterministic algorithms (kernels/determinism.h; embeddings' backward would otherwise
// add with atomics): each model trained for a few AdamW updates twice from one seed, dropout and Quant-Noise on (the
// GPU draws their masks), ends with the same parameters bit for bit; and again under bf16 autocast.
TEST(CudaModels, TrainingRepeatsBitForBit) {
  QN_REQUIRE_CUDA();
  const kernels::DeterministicAlgorithmsGuard deterministic(true);
  for (Case c : cases()) {
    c.config["quant_noise_pq"] = 0.1;
    c.config["quant_noise_pq_block_size"] = 4;
    if (c.config.contains("dropout")) c.config["dropout"] = 0.1;
    for (const std::optional<DType> amp : {std::optional<DType>(), std::optional<DType>(DType::bf16)}) {
      SCOPED_TRACE(std::string(c.arch) + " " + c.config.dump() + (amp ? " bf16" : " f32"));
      const auto train = [&] {
        manual_seed(9);
        models::BuiltModel model = models::build_model(c.arch, c.config);
        model.to(kGpu);
        model.module->train();
        train::Adam adam({train::ParamGroup{model.module->parameters(), 1e-3, 0.01}}, train::adamw_options());
        for (int step = 0; step < 3; ++step) {
          adam.zero_grad();
          Tensor loss;
          {
            const AutocastGuard autocast(amp);
            loss = model.loss(c.inputs, c.targets);
          }
          loss.backward();
          adam.step();
        }
        std::vector<Tensor> params;
        for (const Tensor& p : model.module->parameters()) params.push_back(p.to(Device::cpu()));
        return params;
      };
      const std::vector<Tensor> first = train(), second = train();
      ASSERT_EQ(first.size(), second.size());
      for (size_t i = 0; i < first.size(); ++i) {
        testing::expect_all_close(
            second[i], first[i].shape(), [&](const auto& idx) { return at(first[i], idx); }, 0, 0);
      }
    }
  }
}

}  // namespace
}  // namespace qn
