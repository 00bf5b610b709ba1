// Module structure: names and state-dict order as PyTorch's, strict loading, modes, dtype conversion, and
// the default initialisations' distributions.
#include <gtest/gtest.h>

#include <cmath>

#include "core/cuda_memory.h"
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "tests/reference.h"

namespace qn::nn {
namespace {

using testing::at;

std::vector<std::string> names(const std::vector<NamedTensor>& tensors) {
  std::vector<std::string> out;
  for (const NamedTensor& t : tensors) out.push_back(t.name);
  return out;
}

// A block shaped like a Transformer layer's FFN, to check nested names.
class Block : public Module {
 public:
  Block() : Module("Block") {
    fc1 = register_module("fc1", std::make_shared<Linear>(LinearOptions(4, 8)));
    norm = register_module("norm", std::make_shared<BatchNorm2d>(BatchNorm2dOptions(8)));
    fc2 = register_module("fc2", std::make_shared<Linear>(LinearOptions(8, 4).bias(false)));
  }
  std::shared_ptr<Linear> fc1, fc2;
  std::shared_ptr<BatchNorm2d> norm;
};

TEST(Module, NamesFollowPyTorch) {
  auto layers = std::make_shared<ModuleList<Block>>();
  layers->push_back(std::make_shared<Block>());
  layers->push_back(std::make_shared<Block>());
  Sequential model;
  model.push_back(layers);
  const std::vector<std::string> expected_state = {"0.0.fc1.weight",
                                                   "0.0.fc1.bias",
                                                   "0.0.norm.weight",
                                                   "0.0.norm.bias",
                                                   "0.0.norm.running_mean",
                                                   "0.0.norm.running_var",
                                                   "0.0.norm.num_batches_tracked",
                                                   "0.0.fc2.weight",
                                                   "0.1.fc1.weight",
                                                   "0.1.fc1.bias",
                                                   "0.1.norm.weight",
                                                   "0.1.norm.bias",
                                                   "0.1.norm.running_mean",
                                                   "0.1.norm.running_var",
                                                   "0.1.norm.num_batches_tracked",
                                                   "0.1.fc2.weight"};
  EXPECT_EQ(names(model.state_dict()), expected_state);
  EXPECT_EQ(names(model.named_parameters()),
            (std::vector<std::string>{"0.0.fc1.weight", "0.0.fc1.bias", "0.0.norm.weight", "0.0.norm.bias",
                                      "0.0.fc2.weight", "0.1.fc1.weight", "0.1.fc1.bias", "0.1.norm.weight",
                                      "0.1.norm.bias", "0.1.fc2.weight"}));
  EXPECT_EQ(names(model.named_buffers()).size(), 6u);
  for (const Tensor& p : model.parameters()) EXPECT_TRUE(p.requires_grad());
  // The state dict hands out the module's own tensors, not copies.
  EXPECT_TRUE(model.state_dict()[0].tensor.is_same((*layers)[0].fc1->weight));
}

TEST(Module, StrictLoadListsEveryProblemInOneError) {
  Block block;
  std::vector<NamedTensor> state = block.state_dict();
  state.erase(state.begin());                    // fc1.weight missing
  state.push_back({"extra.weight", ones({2})});  // unexpected
  state[0] = {"fc1.bias", ones({5})};            // mis-shaped
  EXPECT_QN_ERROR(block.load_state_dict(state), "load_state_dict", "missing keys (1): fc1.weight",
                  "unexpected keys (1): extra.weight", "mis-shaped keys (1): fc1.bias (expected [8], got [5])");
  const std::vector<std::string> skipped = block.load_state_dict(state, false);
  EXPECT_EQ(skipped.size(), 3u);
}

TEST(Module, LoadCopiesIntoTheModulesTensors) {
  Linear a(LinearOptions(3, 2));
  Linear b(LinearOptions(3, 2));
  const Tensor weight = b.weight;
  b.load_state_dict(a.state_dict());
  EXPECT_TRUE(b.weight.is_same(weight));  // same tensor, new values
  for (const auto& i : testing::all_indices({2, 3})) EXPECT_EQ(at(b.weight, i), at(a.weight, i));
  EXPECT_TRUE(b.weight.requires_grad());
}

TEST(Module, ModesReachEverySubmodule) {
  Block block;
  block.eval();
  EXPECT_FALSE(block.fc1->is_training());
  EXPECT_FALSE(block.norm->is_training());
  block.train();
  EXPECT_TRUE(block.norm->is_training());
}

TEST(Module, ConvertsDtypeInPlaceKeepingHandles) {
  Block block;
  const Tensor weight = block.fc1->weight;
  block.to(DType::f64);
  EXPECT_EQ(weight.dtype(), DType::f64);  // every handle to it sees the conversion
  EXPECT_EQ(block.state_dict()[0].tensor.dtype(), DType::f64);
  EXPECT_EQ(block.norm->num_batches_tracked.dtype(), DType::i64);
  EXPECT_TRUE(weight.requires_grad());
}

TEST(Module, RegistrationErrors) {
  class Twice : public Module {
   public:
    Twice() : Module("Twice") {
      register_parameter("w", ones({1}));
      register_parameter("w", ones({1}));
    }
  };
  EXPECT_QN_ERROR(Twice(), "Module", "'w' registered twice in Twice");
  if (!cuda::available()) EXPECT_QN_ERROR(Linear(LinearOptions(3, 2)).to(Device::cuda()), "cannot use cuda:0");
  EXPECT_QN_ERROR(Linear(LinearOptions(3, 2)).forward(ones({2, 4})), "Linear", "(..., 3)", "f32[2, 4]");
}

// Moments of n draws against a uniform U(-b, b) (variance b^2 / 3) or a normal N(0, s), within 5 sigma.
void expect_uniform(const Tensor& t, double bound) {
  double sum = 0, sq = 0, max_abs = 0;
  const Tensor v = t.contiguous().to(DType::f64);
  const int64_t n = v.numel();
  for (int64_t i = 0; i < n; ++i) {
    const double x = v.data_ptr<double>()[i];
    sum += x;
    sq += x * x;
    max_abs = std::max(max_abs, std::abs(x));
  }
  EXPECT_LE(max_abs, bound);
  EXPECT_NEAR(sq / n, bound * bound / 3, 5 * bound * bound * std::sqrt(4.0 / 45 / n));
  EXPECT_NEAR(sum / n, 0, 5 * bound / std::sqrt(3.0 * n));
}

void expect_normal(const Tensor& t, double stddev) {
  double sum = 0, sq = 0;
  const Tensor v = t.contiguous().to(DType::f64);
  const int64_t n = v.numel();
  for (int64_t i = 0; i < n; ++i) {
    sum += v.data_ptr<double>()[i];
    sq += v.data_ptr<double>()[i] * v.data_ptr<double>()[i];
  }
  EXPECT_NEAR(sum / n, 0, 5 * stddev / std::sqrt(n));
  EXPECT_NEAR(sq / n, stddev * stddev, 5 * stddev * stddev * std::sqrt(2.0 / n));
}

TEST(Init, DefaultsFollowPyTorch) {
  Linear linear(LinearOptions(256, 300));
  expect_uniform(linear.weight, 1 / std::sqrt(256.0));  // kaiming_uniform(a = sqrt(5))
  expect_uniform(linear.bias, 1 / std::sqrt(256.0));
  Conv2d conv(Conv2dOptions(16, 64, 3).groups(2));
  expect_uniform(conv.weight, 1 / std::sqrt(8.0 * 9));  // fan_in = in / groups * kh * kw
  Embedding embedding(EmbeddingOptions(500, 64).padding_idx(3));
  expect_normal(embedding.weight.narrow(0, 4, 496), 1.0);
  for (int64_t j = 0; j < 64; ++j) EXPECT_EQ(at(embedding.weight, {3, j}), 0.0);
  LayerNorm norm(LayerNormOptions({8}));
  EXPECT_EQ(at(norm.weight, {5}), 1.0);
  EXPECT_EQ(at(norm.bias, {5}), 0.0);
}

TEST(Init, NamedSchemes) {
  Tensor w = empty({200, 300});
  init::xavier_uniform_(w);
  expect_uniform(w, std::sqrt(6.0 / 500));
  Tensor c = empty({64, 32, 3, 3});
  init::kaiming_normal_fan_out_(c);
  expect_normal(c, std::sqrt(2.0 / (64 * 9)));
  init::normal_(w, 0, 0.02);
  expect_normal(w, 0.02);
}

}  // namespace
}  // namespace qn::nn
