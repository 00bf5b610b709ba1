// Quantization against PyTorch: proxy-noise masks applied by our layers vs an independent PyTorch
// re-implementation given the same mask, the histogram observer vs torch's HistogramObserver, and oracle
// 16's numbers on torch.randn(1000) with seed 0.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "kernels/elementwise.h"
#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/quant/kmeans.h"
#include "nn/quant/scalar.h"
#include "tests/parity/torch_runner.h"
#include "tests/reference.h"

namespace qn::nn {
namespace {

using testing::at;

void expect_close(const Tensor& actual, const Tensor& expected) {
  testing::expect_all_close(
      actual, expected.shape(), [&](const testing::Index& i) { return at(expected, i); }, 1e-5, 1e-6);
}

struct ProxyCase {
  std::string name;
  std::function<std::shared_ptr<Module>(const quant::QuantNoise&)> make;
  std::string torch_ctor;
  Tensor x;
  int64_t block_size;
  bool whole_kernels = false;
};

std::vector<ProxyCase> proxy_cases() {
  Generator data(3);
  return {
      {"linear", [](const auto& q) { return std::make_shared<Linear>(LinearOptions(16, 8).quant_noise(q)); },
       "torch.nn.Linear(16, 8)", randn({3, 16}, DType::f32, &data), 8},
      {"conv_kernels",
       [](const auto& q) { return std::make_shared<Conv2d>(Conv2dOptions(8, 4, 3).padding(1).quant_noise(q)); },
       "torch.nn.Conv2d(8, 4, 3, padding=1)", randn({2, 8, 5, 5}, DType::f32, &data), 9},
      {"conv_pq_blocks",
       [](const auto& q) { return std::make_shared<Conv2d>(Conv2dOptions(8, 4, 3).padding(1).quant_noise(q)); },
       "torch.nn.Conv2d(8, 4, 3, padding=1)", randn({2, 8, 5, 5}, DType::f32, &data), 3},
      {"conv_whole_kernels",
       [](const auto& q) { return std::make_shared<Conv2d>(Conv2dOptions(8, 4, 3).padding(1).quant_noise(q)); },
       "torch.nn.Conv2d(8, 4, 3, padding=1)", randn({2, 8, 5, 5}, DType::f32, &data), 3, true},
      {"conv_1x1", [](const auto& q) { return std::make_shared<Conv2d>(Conv2dOptions(16, 4, 1).quant_noise(q)); },
       "torch.nn.Conv2d(16, 4, 1)", randn({2, 16, 3, 3}, DType::f32, &data), 4},
      {"embedding", [](const auto& q) { return std::make_shared<Embedding>(EmbeddingOptions(10, 16).quant_noise(q)); },
       "torch.nn.Embedding(10, 16)", from_vector<int64_t>({3, 0, 9, 3, 5}, {5}), 8},
  };
}

TEST(QuantParity, ProxyNoiseMatchesAnIndependentPyTorchImplementation) {
  constexpr double kP = 0.3;
  nlohmann::json spec = {{"cases", nlohmann::json::array()}};
  std::vector<NamedTensor> inputs;
  struct Mine {
    Tensor out, grad;
  };
  std::vector<Mine> mine;
  const std::vector<ProxyCase> cases = proxy_cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const ProxyCase& c = cases[i];
    Generator gen(100 + i), replay(100 + i);
    quant::QuantNoise q;
    q.p = kP;
    q.block_size = c.block_size;
    q.whole_kernels = c.whole_kernels;
    q.generator = &gen;
    manual_seed(i);
    auto module = c.make(q);
    Tensor weight = module->named_parameters()[0].tensor;
    auto* noise = dynamic_cast<Linear*>(module.get())   ? dynamic_cast<Linear*>(module.get())->noise()
                  : dynamic_cast<Conv2d*>(module.get()) ? dynamic_cast<Conv2d*>(module.get())->noise()
                                                        : dynamic_cast<Embedding*>(module.get())->noise();
    const Tensor mask = kernels::compare(
        kernels::CompareOp::lt,
        rand({weight.size(0), weight.numel() / weight.size(0) / noise->unit_size()}, DType::f32, &replay), kP);
    for (const NamedTensor& t : module->state_dict()) inputs.push_back({c.name + ".state." + t.name, t.tensor});
    const Tensor out = (*module)(c.x);
    const Tensor w = randn(out.shape());
    sum(mul(out, w)).backward();
    mine.push_back({out, weight.grad()});
    inputs.push_back({c.name + ".x", c.x});
    inputs.push_back({c.name + ".w", w});
    inputs.push_back({c.name + ".mask", mask});
    spec["cases"].push_back(
        {{"name", c.name}, {"kind", "proxy"}, {"ctor", c.torch_ctor}, {"unit", noise->unit_size()}, {"p", kP}});
  }
  const SafetensorsContent torch = testing::run_torch_reference("quant", spec, inputs);
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    expect_close(mine[i].out, torch.at(cases[i].name + ".out"));
    expect_close(mine[i].grad, torch.at(cases[i].name + ".grad.weight"));
  }
}

TEST(QuantParity, HistogramObserverMatchesPyTorch) {
  Generator gen(0);
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"randn", randn({1000}, DType::f32, &gen)},
      {"weights", mul(randn({64, 256}, DType::f32, &gen), 0.02)},
      {"uniform", rand({4096}, DType::f32, &gen)},
      {"skewed", kernels::unary(kernels::UnaryOp::exp, randn({2000}, DType::f32, &gen))},
  };
  Tensor outlier = randn({1000}, DType::f32, &gen);
  {
    NoGradGuard no_grad;
    outlier.narrow(0, 0, 1).fill_(40.0);
  }
  tensors.push_back({"outlier", outlier});
  nlohmann::json spec = {{"cases", nlohmann::json::array()}};
  std::vector<NamedTensor> inputs;
  for (const auto& [name, w] : tensors) {
    spec["cases"].push_back({{"name", name}, {"kind", "histogram"}});
    inputs.push_back({name + ".w", w});
  }
  spec["cases"].push_back({{"name", "oracle16"}, {"kind", "randn"}, {"seed", 0}, {"n", 1000}});
  const SafetensorsContent torch = testing::run_torch_reference("quant", spec, inputs);
  for (const auto& [name, w] : tensors) {
    SCOPED_TRACE(name);
    const auto [lo, hi] = quant::histogram_range(w, 8);
    const Tensor range = torch.at(name + ".range");
    EXPECT_NEAR(lo, at(range, {0}), 1e-6 * std::max(1.0, std::abs(at(range, {0}))));
    EXPECT_NEAR(hi, at(range, {1}), 1e-6 * std::max(1.0, std::abs(at(range, {1}))));
    const QParams q = quant::observe(w, 8, quant::Observer::kHistogram);
    const Tensor expected = torch.at(name + ".qparams");
    EXPECT_NEAR(q.scale[0], at(expected, {0}), 1e-6 * at(expected, {0}));
    EXPECT_EQ(q.zero_point[0], at(expected, {1}));
  }
  // Oracle 16 on torch's own randn(1000), seed 0: max |w - Q(w)| = 0.014223 <= s/2 = 0.014226.
  const Tensor w = torch.at("oracle16.values");
  const QParams q = quant::observe(w, 8, quant::Observer::kMinMax);
  const Tensor quantized = kernels::fake_quantize(w, q);
  double max_error = 0;
  for (int64_t i = 0; i < 1000; ++i) max_error = std::max(max_error, std::abs(at(quantized, {i}) - at(w, {i})));
  EXPECT_NEAR(max_error, 0.014223, 1e-6);
  EXPECT_NEAR(q.scale[0] / 2, 0.014226, 1e-6);
}

// k-means from the same initial centroids: the same assignments, centroids and objective at every step.
TEST(QuantParity, KMeansMatchesAPyTorchReference) {
  Generator gen(31);
  const Tensor blocks = randn({2048, 8}, DType::f32, &gen);
  const Tensor init = blocks.narrow(0, 0, 32).clone();
  quant::KMeansOptions o;
  o.n_centroids = 32;
  o.n_iter = 10;
  const quant::KMeansResult mine = quant::kmeans(blocks, o, init);
  ASSERT_FALSE(mine.repair_failed);
  const nlohmann::json spec = {{"cases", {{{"name", "km"}, {"kind", "kmeans"}, {"n_iter", 10}}}}};
  const SafetensorsContent torch =
      testing::run_torch_reference("quant", spec, {{"km.blocks", blocks}, {"km.init", init}});
  const Tensor assignments = torch.at("km.assignments");
  int64_t differing = 0;
  for (int64_t i = 0; i < 2048; ++i) differing += at(mine.assignments, {i}) != at(assignments, {i});
  EXPECT_EQ(differing, 0);
  expect_close(mine.centroids, torch.at("km.centroids"));
  const Tensor objective = torch.at("km.objective");
  for (int64_t i = 0; i < 10; ++i)
    EXPECT_NEAR(mine.objective[static_cast<size_t>(i)], at(objective, {i}), 1e-5 * at(objective, {i}));
}

}  // namespace
}  // namespace qn::nn
