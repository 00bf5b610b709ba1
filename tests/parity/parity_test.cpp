// The op table against PyTorch (Debian's python3-torch, run as /usr/bin/python3): forward and the
// gradients of a random-weighted sum, in f32, and in bf16 for the rows whose ops compute on 16-bit floats so
// far. References are computed at test time by tests/parity/torch_reference.py, once for each table. Also: a
// two-layer MLP trained with SGD gives PyTorch's losses.
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
  std::map<std::string, OpResult> exact;  // bf16 only: the row in f64 on the same (rounded) inputs and weights
};

// Ours for every row of the table in dtype (f32: all rows; bf16: bf16_rows()), and PyTorch's, computed once per
// dtype. bf16 inputs and weights are drawn in f32 and rounded; the files carry them as f32 (exact).
TableResults compute_table(DType dtype) {
  TableResults r;
  std::vector<NamedTensor> files;
  nlohmann::json spec = {{"cases", nlohmann::json::array()}};
  if (dtype == DType::bf16) spec["dtype"] = "bfloat16";
  for (const OpCase& op : op_table()) {
    if (dtype == DType::bf16 && !bf16_rows().contains(op.name)) continue;
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      Tensor x = draw_input(op.inputs[i], DType::f32, 100 + i);
      if (dtype != DType::f32) x = x.detach().to(dtype).set_requires_grad(true);
      inputs.push_back(x);
      files.push_back({op.name + ".x" + std::to_string(i), x.detach().to(DType::f32).contiguous()});
    }
    OpResult& mine = r.ours[op.name];
    mine.out = op.fn(inputs);
    Generator gen(7);
    const Tensor w = randn(mine.out.shape(), DType::f32, &gen).to(dtype);
    files.push_back({op.name + ".w", w.to(DType::f32)});
    mine.grads = grad({mine.out}, inputs, {w});
    if (dtype != DType::f32) {
      std::vector<Tensor> wide;
      for (const Tensor& x : inputs) wide.push_back(x.detach().to(DType::f64).set_requires_grad(true));
      OpResult& exact = r.exact[op.name];
      exact.out = op.fn(wide);
      exact.grads = grad({exact.out}, wide, {w.to(DType::f64)});
    }
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
}

const TableResults& table_results() {
  static const TableResults results = compute_table(DType::f32);
  return results;
}

const TableResults& bf16_table_results() {
  static const TableResults results = compute_table(DType::bf16);
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

// bf16 holds 8 significant bits: both sides round every op's result to them, so they agree to a few units in
// the last place (2^-8 = 0.4%) where the f32 arithmetic underneath differs in order. Where a sum cancels (a
// broadcast operand's gradient), rounding the terms costs both sides more than that; there ours must be at least
// as close as PyTorch's to the same computation in f64.
void expect_bf16_close(const Tensor& ours, const Tensor& torch, const Tensor& exact, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(ours.shape(), torch.shape());
  constexpr double kRtol = 1e-2, kAtol = 1e-3;
  int failures = 0;
  for (const Index& i : all_indices(ours.shape())) {
    const double mine = at(ours, i), theirs = at(torch, i), truth = at(exact, i);
    const bool close = std::abs(mine - theirs) <= kAtol + kRtol * std::abs(theirs);
    const bool no_worse = std::abs(mine - truth) <= std::abs(theirs - truth);
    if (!close && !no_worse && ++failures <= 5) {
      ADD_FAILURE() << "at " << ::testing::PrintToString(i) << ": got " << mine << ", PyTorch " << theirs << ", f64 "
                    << truth;
    }
  }
  EXPECT_EQ(failures, 0);
}

// For a block of ops in 16-bit floats, where sums of rounded terms cancel: every element within a few bf16 units of
// the tensor's scale of PyTorch's, and the whole no further (root mean square) from the f64 computation than
// twice PyTorch's distance.
void expect_as_accurate_as_torch(const Tensor& ours, const Tensor& torch, const Tensor& exact,
                                 const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(ours.shape(), torch.shape());
  double scale = 0, ours_error = 0, torch_error = 0;
  for (const Index& i : all_indices(ours.shape())) scale = std::max(scale, std::abs(at(exact, i)));
  int failures = 0;
  for (const Index& i : all_indices(ours.shape())) {
    const double mine = at(ours, i), theirs = at(torch, i), truth = at(exact, i);
    ours_error += (mine - truth) * (mine - truth);
    torch_error += (theirs - truth) * (theirs - truth);
    if (std::abs(mine - theirs) > 2e-2 * scale + 1e-2 * std::abs(theirs) && ++failures <= 5) {
      ADD_FAILURE() << "at " << ::testing::PrintToString(i) << ": got " << mine << ", PyTorch " << theirs << ", f64 "
                    << truth << " (largest |f64| " << scale << ")";
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_LE(std::sqrt(ours_error), 2 * std::sqrt(torch_error) + 1e-7 * scale)
      << "distance to f64: ours " << std::sqrt(ours_error) << ", PyTorch's " << std::sqrt(torch_error);
}

class Bf16Parity : public ::testing::TestWithParam<OpCase> {};

TEST_P(Bf16Parity, ForwardAndGradientsMatchPyTorch) {
  const OpCase& op = GetParam();
  const TableResults& results = bf16_table_results();
  const OpResult& mine = results.ours.at(op.name);
  const OpResult& exact = results.exact.at(op.name);
  // Attention is a block of ops (two products, softmax, masking), each rounding to bf16 on both sides.
  const auto expect_close = op.name.starts_with("attention") ? expect_as_accurate_as_torch : expect_bf16_close;
  ASSERT_EQ(mine.out.dtype(), DType::bf16);
  expect_close(mine.out, results.torch.at(op.name + ".out"), exact.out, op.name + " forward");
  for (size_t i = 0; i < mine.grads.size(); ++i) {
    const Tensor& theirs = results.torch.at(op.name + ".grad" + std::to_string(i));
    ASSERT_TRUE(mine.grads[i].defined()) << op.name << " input " << i;
    EXPECT_EQ(mine.grads[i].dtype(), DType::bf16);
    expect_close(mine.grads[i], theirs, exact.grads[i], op.name + " gradient of input " + std::to_string(i));
  }
}

std::vector<OpCase> bf16_cases() {
  std::vector<OpCase> cases;
  for (const OpCase& op : op_table()) {
    if (bf16_rows().contains(op.name)) cases.push_back(op);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(OpTable, Bf16Parity, ::testing::ValuesIn(bf16_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& row) { return row.param.name; });

// A block under bf16 autocast: linear, GELU, LayerNorm, linear, cross-entropy. PyTorch runs it with the casts
// autocast makes here written out (the CPU autocast of PyTorch 1.13 keeps other ops in f32 than CUDA's, which ours
// follows): the linears in bf16, LayerNorm and the loss in f32. The loss and the f32 parameters' gradients agree with
// PyTorch's to bf16's precision, and lie as close to the block computed in f64 (expect_as_accurate_as_torch).
TEST(ParityAutocast, ABlockUnderBf16AutocastGivesPyTorchsLossAndGradients) {
  const std::vector<Shape> shapes = {{8, 6}, {10, 6}, {10}, {10}, {10}, {4, 10}, {4}};
  std::vector<Tensor> inputs;
  std::vector<NamedTensor> files;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Generator gen(300 + i);
    inputs.push_back(randn(shapes[i], DType::f32, &gen).set_requires_grad(true));
    files.push_back({"block.x" + std::to_string(i), inputs.back().detach()});
  }
  const Tensor targets = from_vector<int64_t>({0, 1, 2, 3, 3, 2, 1, 0});
  const Tensor w = scalar_tensor(1.0, DType::f32);
  files.push_back({"block.t", targets});
  files.push_back({"block.w", w});
  const auto block = [&](const std::vector<Tensor>& x) {
    const Tensor hidden = gelu(linear(x[0], x[1], x[2]));
    return cross_entropy(linear(layer_norm(hidden, {10}, x[3], x[4]), x[5], x[6]), targets);
  };
  Tensor loss;
  {
    AutocastGuard autocast(DType::bf16);
    loss = block(inputs);
  }
  ASSERT_EQ(loss.dtype(), DType::f32);
  const std::vector<Tensor> grads = grad({loss}, inputs, {w});
  std::vector<Tensor> wide;
  for (const Tensor& x : inputs) wide.push_back(x.detach().to(DType::f64).set_requires_grad(true));
  const Tensor exact = block(wide);
  const std::vector<Tensor> exact_grads = grad({exact}, wide);

  const nlohmann::json spec = {
      {"cases",
       {{{"name", "block"},
         {"expr",
          "F.cross_entropy(F.linear(F.layer_norm(F.gelu(F.linear(x0.bfloat16(), x1.bfloat16(), x2.bfloat16()))"
          ".float(), (10,), x3, x4).bfloat16(), x5.bfloat16(), x6.bfloat16()).float(), t)"},
         {"inputs", shapes.size()},
         {"constants", {"t"}}}}}};
  const SafetensorsContent torch = run_torch_reference("ops", spec, files);
  expect_as_accurate_as_torch(loss.reshape({1}), torch.at("block.out").reshape({1}), exact.reshape({1}), "loss");
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_EQ(grads[i].dtype(), DType::f32);
    expect_as_accurate_as_torch(grads[i], torch.at("block.grad" + std::to_string(i)), exact_grads[i],
                                "gradient of input " + std::to_string(i));
  }
}

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
