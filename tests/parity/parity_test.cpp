// The op table against PyTorch (Debian's python3-torch, run as /usr/bin/python3): forward and the
// gradients of a random-weighted sum, in f32. References are computed at test time by
// tests/parity/torch_reference.py, once for the whole table. Also: a two-layer MLP trained with SGD
// gives PyTorch's losses.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "core/generator.h"
#include "core/safetensors.h"
#include "tests/autograd/op_table.h"
#include "tests/parity/torch_runner.h"
#include "tests/reference.h"

namespace qn::testing {
namespace {

struct OpResult {
  Tensor out;
  std::vector<Tensor> grads;
};

struct TableResults {
  std::map<std::string, OpResult> ours;
  SafetensorsContent torch;
};

// Ours for every row, and PyTorch's, computed once.
const TableResults& table_results() {
  static const TableResults results = [] {
    TableResults r;
    std::vector<NamedTensor> files;
    nlohmann::json spec = {{"cases", nlohmann::json::array()}};
    for (const OpCase& op : op_table()) {
      std::vector<Tensor> inputs;
      for (size_t i = 0; i < op.inputs.size(); ++i) {
        inputs.push_back(draw_input(op.inputs[i], DType::f32, 100 + i));
        files.push_back({op.name + ".x" + std::to_string(i), inputs.back().detach().contiguous()});
      }
      OpResult& mine = r.ours[op.name];
      mine.out = op.fn(inputs);
      Generator gen(7);
      const Tensor w = randn(mine.out.shape(), DType::f32, &gen);
      files.push_back({op.name + ".w", w});
      mine.grads = grad({mine.out}, inputs, {w});
      nlohmann::json constants = nlohmann::json::array();
      for (const NamedTensor& c : op.constants) {
        files.push_back({op.name + "." + c.name, c.tensor});
        constants.push_back(c.name);
      }
      spec["cases"].push_back(
          {{"name", op.name}, {"expr", op.torch}, {"inputs", op.inputs.size()}, {"constants", constants}});
    }
    r.torch = run_torch_reference("ops", spec, files);
    return r;
  }();
  return results;
}

void expect_matches(const Tensor& ours, const Tensor& torch, double rtol, double atol, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(ours.shape(), torch.shape());
  expect_all_close(
      ours, ours.shape(), [&](const Index& i) { return at(torch, i); }, rtol, atol);
}

class Parity : public ::testing::TestWithParam<OpCase> {};

TEST_P(Parity, ForwardAndGradientsMatchPyTorch) {
  const OpCase& op = GetParam();
  const TableResults& results = table_results();
  const OpResult& mine = results.ours.at(op.name);
  expect_matches(mine.out, results.torch.at(op.name + ".out"), op.rtol, op.atol, op.name + " forward");
  for (size_t i = 0; i < mine.grads.size(); ++i) {
    const Tensor& theirs = results.torch.at(op.name + ".grad" + std::to_string(i));
    const Tensor ours = mine.grads[i].defined() ? mine.grads[i] : zeros(theirs.shape());
    expect_matches(ours, theirs, op.rtol, op.atol, op.name + " gradient of input " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(OpTable, Parity, ::testing::ValuesIn(op_table()),
                         [](const ::testing::TestParamInfo<OpCase>& row) { return row.param.name; });

// relu(x W1^T + b1) W2^T + b2, mean squared error, plain SGD: the same losses as PyTorch for 20 steps.
TEST(ParityTraining, TwoLayerMlpWithSgdGivesPyTorchLosses) {
  constexpr int kSteps = 20;
  constexpr double kLr = 0.05;
  Generator gen(2024);
  const Tensor x = randn({64, 10}, DType::f32, &gen);
  const Tensor y = randn({64, 3}, DType::f32, &gen);
  Tensor w1 = mul(randn({32, 10}, DType::f32, &gen), 0.3);
  Tensor b1 = mul(randn({32}, DType::f32, &gen), 0.1);
  Tensor w2 = mul(randn({3, 32}, DType::f32, &gen), 0.3);
  Tensor b2 = mul(randn({3}, DType::f32, &gen), 0.1);
  const SafetensorsContent torch = run_torch_reference("mlp", {},
                                                       {{"x", x},
                                                        {"y", y},
                                                        {"w1", w1},
                                                        {"b1", b1},
                                                        {"w2", w2},
                                                        {"b2", b2},
                                                        {"lr", scalar_tensor(kLr, DType::f64)},
                                                        {"steps", scalar_tensor(kSteps, DType::i64)}});

  std::vector<Tensor*> params = {&w1, &b1, &w2, &b2};
  for (Tensor* p : params) p->set_requires_grad(true);
  for (int step = 0; step < kSteps; ++step) {
    const Tensor hidden = relu(add(matmul(x, transpose(w1, 0, 1)), b1));
    const Tensor loss = mean(pow(sub(add(matmul(hidden, transpose(w2, 0, 1)), b2), y), 2.0));
    EXPECT_NEAR(loss.item<double>(), at(torch.at("losses"), {step}), 1e-5 * std::abs(at(torch.at("losses"), {step})))
        << "step " << step;
    for (Tensor* p : params) p->zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor* p : params) add_(*p, p->grad(), -kLr);
  }
}

}  // namespace
}  // namespace qn::testing
