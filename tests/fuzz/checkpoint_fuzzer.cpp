// Checkpoints: a file claiming to be a checkpoint of a small model with Adam state, loaded as `qn train` resumes
// (an iPQ state in it makes the layers it names product-quantized first; a loss scaler's state is checked as the
// Trainer checks it).
#include <cstdlib>
#include <memory>

#include "autograd/ops.h"
#include "core/generator.h"
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/linear.h"
#include "tests/fuzz/fuzz_input.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/ipq.h"
#include "train/loss_scaler.h"

namespace {
using namespace qn;

const nlohmann::json kConfig = {{"hidden", 8}};

struct Run {
  Run() {
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(4, 8)));
    model.push_back(std::make_shared<nn::ReLU>());
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(8, 2)));
    optimizer = std::make_unique<train::Adam>(std::vector<train::ParamGroup>{{model.parameters(), 1e-2, 0.0}},
                                              train::AdamOptions{});
  }
  nn::Sequential model;
  std::unique_ptr<train::Adam> optimizer;
  Generator generator{3};
};

// Seeds: before any update (no optimizer state), after two (moments and step counts, a loss scaler's state), and
// after an iPQ stage.
void write_seeds(const std::string& folder) {
  Run run;
  train::save_checkpoint(folder + "/fresh.safetensors", run.model, run.optimizer.get(), run.generator,
                         {"mlp", kConfig, {}});
  Generator data(5);
  const Tensor x = randn({6, 4}, DType::f32, &data), y = randn({6, 2}, DType::f32, &data);
  for (int step = 0; step < 2; ++step) {
    const Tensor loss = mse_loss(run.model(x), y);
    run.optimizer->zero_grad();
    loss.backward();
    run.optimizer->step();
  }
  train::save_checkpoint(folder + "/trained.safetensors", run.model, run.optimizer.get(), run.generator,
                         {"mlp", kConfig, {2, 1, 3}, {{"stage", 1}}, train::DynamicLossScaler().state()});
  Run quantized;
  dynamic_cast<nn::QuantizableLayer&>(quantized.model[0]).make_product_quantized(4, 4);
  const nlohmann::json ipq = {
      {"ipq",
       {{"stages_done", 1},
        {"layers", {{{"name", "0"}, {"block_size", 4}, {"n_centroids", 4}, {"mean_gradient", true}}}}}}};
  train::save_checkpoint(folder + "/ipq.safetensors", quantized.model, nullptr, quantized.generator,
                         {"mlp", kConfig, {5, 0, 5}, ipq});
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::answer_seed_request(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::input_file({data, size});
  Run run;
  fuzz::refuse_cleanly([&] {
    const auto prepare = [&](const train::CheckpointInfo& info) {
      if (!info.loss_scale.is_null()) train::DynamicLossScaler().load_state(info.loss_scale);
      if (info.extra.is_object() && info.extra.contains("ipq")) train::restore_pq_layers(run.model, info.extra);
    };
    train::load_checkpoint(path, run.model, run.optimizer.get(), run.generator, "mlp", kConfig, prepare);
    // A loaded run must be able to take a step.
    Generator data_gen(5);
    const Tensor loss = mse_loss(run.model(randn({2, 4}, DType::f32, &data_gen)), zeros({2, 2}));
    run.optimizer->zero_grad();
    loss.backward();
    run.optimizer->step();
  });
  return 0;
}
