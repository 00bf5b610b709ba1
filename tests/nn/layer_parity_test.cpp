// Every layer against the PyTorch layer of the same configuration and weights: our state dict is loaded
// into torch's module, and forward, input gradient, parameter gradients and buffers are compared in f32,
// in train and eval mode where they differ. Each case is also gradchecked in f64.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "autograd/gradcheck.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/pool.h"
#include "tests/parity/torch_runner.h"
#include "tests/reference.h"

namespace qn::nn {
namespace {

using testing::at;

struct LayerCase {
  std::string name;
  std::function<std::shared_ptr<Module>()> make;
  std::string torch_ctor;
  Shape input;
  bool train = true;
  std::string torch_forward = "m(x)";
  Tensor indices = {};  // an index input instead of a random float one
  // For gradcheck: multiplies the output where the layer's gradient deliberately differs from the true
  // derivative (an Embedding's padding row gets none), so only the rest is checked.
  Tensor gradcheck_mask = {};
};

// Self-attention with a fixed key-padding mask or causal masking, behind the single-input forward.
class MaskedSelfAttention : public MultiheadAttention {
 public:
  MaskedSelfAttention(Tensor padding, bool causal)
      : MultiheadAttention(MultiheadAttentionOptions(8, 2)), padding_(std::move(padding)), causal_(causal) {}
  Tensor forward(const Tensor& x) override { return MultiheadAttention::forward(x, x, x, padding_, causal_); }

 private:
  Tensor padding_;
  bool causal_;
};

std::shared_ptr<Module> batch_norm_with_stats() {
  auto bn = std::make_shared<BatchNorm2d>(BatchNorm2dOptions(3));
  NoGradGuard no_grad;
  bn->running_mean.copy_(from_vector<float>({0.3f, -0.2f, 0.5f}));
  bn->running_var.copy_(from_vector<float>({1.4f, 0.6f, 2.1f}));
  return bn;
}

const std::vector<LayerCase>& layer_cases() {
  static const std::vector<LayerCase> cases = {
      {"linear", [] { return std::make_shared<Linear>(LinearOptions(5, 3)); }, "torch.nn.Linear(5, 3)", {2, 4, 5}},
      {"linear_no_bias",
       [] { return std::make_shared<Linear>(LinearOptions(5, 3).bias(false)); },
       "torch.nn.Linear(5, 3, bias=False)",
       {6, 5}},
      {"conv2d",
       [] { return std::make_shared<Conv2d>(Conv2dOptions(3, 4, 3).stride(2).padding(1)); },
       "torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)",
       {2, 3, 7, 6}},
      {"conv2d_groups_dilation",
       [] { return std::make_shared<Conv2d>(Conv2dOptions(4, 6, 3).groups(2).dilation(2).padding(2).bias(false)); },
       "torch.nn.Conv2d(4, 6, 3, groups=2, dilation=2, padding=2, bias=False)",
       {1, 4, 8, 8}},
      // TF 'same' with stride 2 on 7x8: rows padded (1, 1), columns (0, 1).
      {"conv2d_same_stride2",
       [] { return std::make_shared<Conv2d>(Conv2dOptions(3, 4, 3).stride(2).padding_same()); },
       "torch.nn.Conv2d(3, 4, 3, stride=2)",
       {1, 3, 7, 8},
       true,
       "m(F.pad(x, (0, 1, 1, 1)))"},
      {"conv2d_depthwise_same",
       [] { return std::make_shared<Conv2d>(Conv2dOptions(4, 4, 5).groups(4).padding_same()); },
       "torch.nn.Conv2d(4, 4, 5, groups=4, padding='same')",
       {2, 4, 6, 6}},
      {"embedding_padding",
       [] { return std::make_shared<Embedding>(EmbeddingOptions(10, 4).padding_idx(1)); },
       "torch.nn.Embedding(10, 4, padding_idx=1)",
       {},
       true,
       "m(x)",
       from_vector<int64_t>({1, 3, 9, 1, 0, 3, 7, 2}, {2, 4}),
       from_vector<double>({0, 1, 1, 0, 1, 1, 1, 1}, {2, 4, 1})},
      {"layer_norm",
       [] {
         return std::make_shared<LayerNorm>(LayerNormOptions({2, 4}));
       },
       "torch.nn.LayerNorm((2, 4))",
       {3, 2, 4}},
      {"batch_norm_train",
       [] { return std::make_shared<BatchNorm2d>(BatchNorm2dOptions(3)); },
       "torch.nn.BatchNorm2d(3)",
       {4, 3, 3, 3}},
      {"batch_norm_train_tf_momentum",
       [] { return std::make_shared<BatchNorm2d>(BatchNorm2dOptions(3).momentum(0.01).eps(1e-3)); },
       "torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.01)",
       {2, 3, 4, 4}},
      {"batch_norm_eval", batch_norm_with_stats, "torch.nn.BatchNorm2d(3)", {2, 3, 3, 3}, false},
      {"dropout_eval", [] { return std::make_shared<Dropout>(0.5); }, "torch.nn.Dropout(0.5)", {4, 5}, false},
      {"drop_path_eval", [] { return std::make_shared<DropPath>(0.2); }, "torch.nn.Identity()", {4, 5}, false},
      {"relu", [] { return std::make_shared<ReLU>(); }, "torch.nn.ReLU()", {4, 5}},
      {"gelu", [] { return std::make_shared<GELU>(); }, "torch.nn.GELU()", {4, 5}},
      {"gelu_tanh", [] { return std::make_shared<GELU>(true); }, "torch.nn.GELU(approximate='tanh')", {4, 5}},
      {"silu", [] { return std::make_shared<SiLU>(); }, "torch.nn.SiLU()", {4, 5}},
      {"tanh", [] { return std::make_shared<Tanh>(); }, "torch.nn.Tanh()", {4, 5}},
      {"sigmoid", [] { return std::make_shared<Sigmoid>(); }, "torch.nn.Sigmoid()", {4, 5}},
      {"max_pool2d", [] { return std::make_shared<MaxPool2d>(3, 2, 1); }, "torch.nn.MaxPool2d(3, 2, 1)", {2, 3, 7, 6}},
      {"avg_pool2d", [] { return std::make_shared<AvgPool2d>(2); }, "torch.nn.AvgPool2d(2)", {2, 3, 6, 6}},
      {"adaptive_avg_pool2d",
       [] { return std::make_shared<AdaptiveAvgPool2d>(2, 3); },
       "torch.nn.AdaptiveAvgPool2d((2, 3))",
       {2, 3, 5, 7}},
      {"flatten", [] { return std::make_shared<Flatten>(); }, "torch.nn.Flatten()", {2, 3, 2, 2}},
      {"multihead_attention",
       [] { return std::make_shared<MultiheadAttention>(MultiheadAttentionOptions(8, 2)); },
       "SeparateProjectionAttention(8, 2)",
       {2, 5, 8}},
      {"multihead_attention_key_padding",
       [] {
         return std::make_shared<MaskedSelfAttention>(from_vector<uint8_t>({0, 0, 0, 0, 1, 0, 0, 1, 1, 1}, {2, 5}),
                                                      false);
       },
       "SeparateProjectionAttention(8, 2, key_padding_mask=[[0, 0, 0, 0, 1], [0, 0, 1, 1, 1]])",
       {2, 5, 8}},
      {"multihead_attention_causal",
       [] { return std::make_shared<MaskedSelfAttention>(Tensor(), true); },
       "SeparateProjectionAttention(8, 2, causal=True)",
       {2, 4, 8}},
      {"sequential_mlp",
       [] {
         auto seq = std::make_shared<Sequential>();
         seq->push_back(std::make_shared<Linear>(LinearOptions(6, 5)));
         seq->push_back(std::make_shared<ReLU>());
         seq->push_back(std::make_shared<Linear>(LinearOptions(5, 2)));
         return seq;
       },
       "torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))",
       {3, 6}},
  };
  return cases;
}

void PrintTo(const LayerCase& c, std::ostream* out) { *out << c.name; }

Tensor input_for(const LayerCase& c, DType dtype) {
  return c.indices.defined() ? c.indices : testing::random(c.input, dtype, 21);
}

struct Ours {
  Tensor out;
  Tensor input_grad;
  std::vector<NamedTensor> param_grads;
  std::vector<NamedTensor> buffers;
};

struct LayerResults {
  std::map<std::string, Ours> ours;
  SafetensorsContent torch;
};

const LayerResults& layer_results() {
  static const LayerResults results = [] {
    LayerResults r;
    std::vector<NamedTensor> files;
    nlohmann::json spec = {{"cases", nlohmann::json::array()}};
    for (const LayerCase& c : layer_cases()) {
      std::shared_ptr<Module> module = c.make();
      module->train(c.train);
      for (const NamedTensor& t : module->state_dict())
        files.push_back({c.name + ".state." + t.name, t.tensor.clone()});
      Tensor x = input_for(c, DType::f32);
      files.push_back({c.name + ".x", x});
      if (!c.indices.defined()) x = x.clone().set_requires_grad(true);
      Ours& mine = r.ours[c.name];
      mine.out = module->forward(x);
      Generator gen(3);
      const Tensor w = randn(mine.out.shape(), DType::f32, &gen);
      files.push_back({c.name + ".w", w});
      sum(mul(mine.out, w)).backward();
      if (!c.indices.defined()) mine.input_grad = x.grad();
      for (const NamedTensor& p : module->named_parameters()) mine.param_grads.push_back({p.name, p.tensor.grad()});
      mine.buffers = module->named_buffers();
      spec["cases"].push_back(
          {{"name", c.name}, {"ctor", c.torch_ctor}, {"forward", c.torch_forward}, {"train", c.train}});
    }
    r.torch = testing::run_torch_reference("modules", spec, files);
    return r;
  }();
  return results;
}

void expect_close(const Tensor& ours, const Tensor& theirs, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(ours.defined()) << "no gradient on our side";
  ASSERT_EQ(ours.shape(), theirs.shape());
  testing::expect_all_close(
      ours, ours.shape(), [&](const testing::Index& i) { return at(theirs, i); }, 1e-5, 1e-6);
}

class LayerParity : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayerParity, MatchesThePyTorchLayer) {
  const LayerCase& c = GetParam();
  const LayerResults& results = layer_results();
  const Ours& mine = results.ours.at(c.name);
  expect_close(mine.out, results.torch.at(c.name + ".out"), "forward");
  if (mine.input_grad.defined()) expect_close(mine.input_grad, results.torch.at(c.name + ".grad.x"), "input gradient");
  for (const NamedTensor& g : mine.param_grads) {
    expect_close(g.tensor, results.torch.at(c.name + ".grad." + g.name), "gradient of " + g.name);
  }
  for (const NamedTensor& b : mine.buffers) {
    expect_close(b.tensor.to(DType::f64), results.torch.at(c.name + ".buffer." + b.name).to(DType::f64),
                 "buffer " + b.name);
  }
}

INSTANTIATE_TEST_SUITE_P(Layers, LayerParity, ::testing::ValuesIn(layer_cases()),
                         [](const ::testing::TestParamInfo<LayerCase>& row) { return row.param.name; });

class LayerGradcheck : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayerGradcheck, InputAndParameterGradients) {
  const LayerCase& c = GetParam();
  std::shared_ptr<Module> module = c.make();
  module->to(DType::f64);
  module->train(c.train);
  std::vector<Tensor> inputs = module->parameters();
  const bool float_input = !c.indices.defined();
  const Tensor x = float_input ? input_for(c, DType::f64).set_requires_grad(true) : c.indices;
  if (float_input) inputs.insert(inputs.begin(), x);
  if (inputs.empty()) GTEST_SKIP() << "nothing to differentiate";
  const GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>&) {
        const Tensor out = module->forward(x);
        return c.gradcheck_mask.defined() ? mul(out, c.gradcheck_mask) : out;
      },
      inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

INSTANTIATE_TEST_SUITE_P(Layers, LayerGradcheck, ::testing::ValuesIn(layer_cases()),
                         [](const ::testing::TestParamInfo<LayerCase>& row) { return row.param.name; });

}  // namespace
}  // namespace qn::nn
