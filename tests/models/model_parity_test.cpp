// Each model against its PyTorch definition with the same weights (our state dict loaded strictly into
// theirs): logits against PyTorch in f32 (rtol 1e-4) and every parameter gradient against PyTorch in f64
// (1e-3 of the tensor's scale, or as close as PyTorch's own f32 result), in eval mode and in train mode with
// dropout and drop-connect off (BatchNorm on batch statistics). EfficientNet is compared with
// torchvision's own efficientnet_b0, our torchvision variant (its padding and BatchNorm settings).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/efficientnet.h"
#include "tests/parity/torch_runner.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

using testing::at;

struct ModelCase {
  std::string name;
  std::function<std::shared_ptr<nn::Module>()> make;
  std::string torch_ctor;
  Tensor input;
  bool train;
};

std::shared_ptr<nn::Module> small_efficientnet() {
  EfficientNetConfig c = EfficientNetConfig::named("efficientnet_b0");
  c.torchvision = true;
  c.num_classes = 10;
  c.dropout = 0.0;
  c.drop_connect = 0.0;
  manual_seed(5);
  return std::make_shared<EfficientNet>(c);
}

// torchvision's B0 with its dropout and stochastic depth off (the classifier keeps its names).
constexpr const char* kTorchEfficientNet =
    "(lambda m: (setattr(m.classifier[0], 'p', 0.0), m)[1])("
    "torchvision.models.efficientnet_b0(num_classes=10, stochastic_depth_prob=0.0))";

std::vector<ModelCase> cases() {
  return {{"efficientnet_b0_eval", small_efficientnet, kTorchEfficientNet,
           testing::random({2, 3, 64, 64}, DType::f32, 7), false},
          {"efficientnet_b0_train", small_efficientnet, kTorchEfficientNet,
           testing::random({2, 3, 64, 64}, DType::f32, 8), true}};
}

struct Ours {
  Tensor logits;
  std::vector<NamedTensor> grads;
};

struct Results {
  std::map<std::string, Ours> ours;
  SafetensorsContent torch;
};

const Results& results() {
  static const Results r = [] {
    Results out;
    std::vector<NamedTensor> files;
    nlohmann::json spec = {{"cases", nlohmann::json::array()}};
    for (const ModelCase& c : cases()) {
      const std::shared_ptr<nn::Module> model = c.make();
      model->train(c.train);
      for (const NamedTensor& t : model->state_dict()) files.push_back({c.name + ".state." + t.name, t.tensor.clone()});
      files.push_back({c.name + ".x", c.input});
      Ours& mine = out.ours[c.name];
      mine.logits = model->forward(c.input);
      Generator gen(3);
      const Tensor w = randn(mine.logits.shape(), DType::f32, &gen);
      files.push_back({c.name + ".w", w});
      sum(mul(mine.logits, w)).backward();
      for (const NamedTensor& p : model->named_parameters()) mine.grads.push_back({p.name, p.tensor.grad()});
      spec["cases"].push_back({{"name", c.name}, {"ctor", c.torch_ctor}, {"forward", "m(x)"}, {"train", c.train}});
      // The same in f64: the yardstick for how far f32 may stray.
      for (const NamedTensor& t : model->state_dict()) {
        files.push_back({c.name + "_f64.state." + t.name, t.tensor.clone()});
      }
      files.push_back({c.name + "_f64.x", c.input.to(DType::f64)});
      files.push_back({c.name + "_f64.w", w.to(DType::f64)});
      spec["cases"].push_back(
          {{"name", c.name + "_f64"}, {"ctor", c.torch_ctor + ".double()"}, {"forward", "m(x)"}, {"train", c.train}});
    }
    out.torch = testing::run_torch_reference("modules", spec, files);
    return out;
  }();
  return r;
}

// |ours - theirs| <= rtol * (|theirs| + scale), scale the tensor's largest magnitude / 100.
void expect_close(const Tensor& ours, const Tensor& theirs, double rtol, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(ours.defined()) << "no gradient on our side";
  ASSERT_EQ(ours.shape(), theirs.shape());
  double largest = 0;
  for (const auto& i : testing::all_indices(theirs.shape())) largest = std::max(largest, std::abs(at(theirs, i)));
  testing::expect_all_close(
      ours, ours.shape(), [&](const testing::Index& i) { return at(theirs, i); }, rtol, rtol * largest / 100);
}

class ModelParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelParity, LogitsAndGradientsMatchPyTorch) {
  const Results& r = results();
  const Ours& mine = r.ours.at(GetParam());
  expect_close(mine.logits, r.torch.at(GetParam() + ".out"), 1e-4, "logits");
  // Gradients against PyTorch in f64: within 1e-3 of each tensor's largest entry, or no further from the f64
  // result than 4x PyTorch's own f32 error (for gradients that are zero up to rounding: a BatchNorm bias
  // that a following BatchNorm in training mode makes irrelevant).
  for (const NamedTensor& g : mine.grads) {
    SCOPED_TRACE("gradient of " + g.name);
    ASSERT_TRUE(g.tensor.defined());
    const Tensor t32 = r.torch.at(GetParam() + ".grad." + g.name).to(DType::f64);
    const Tensor t64 = r.torch.at(GetParam() + "_f64.grad." + g.name);
    ASSERT_EQ(g.tensor.shape(), t64.shape());
    double ours_err = 0, torch_err = 0, scale = 0;
    for (const auto& i : testing::all_indices(t64.shape())) {
      ours_err = std::max(ours_err, std::abs(at(g.tensor, i) - at(t64, i)));
      torch_err = std::max(torch_err, std::abs(at(t32, i) - at(t64, i)));
      scale = std::max(scale, std::abs(at(t64, i)));
    }
    EXPECT_TRUE(ours_err <= 1e-3 * scale || ours_err <= 4 * torch_err)
        << "error " << ours_err << " against f64 (largest entry " << scale << "; PyTorch f32's error " << torch_err
        << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ModelParity, ::testing::Values("efficientnet_b0_eval", "efficientnet_b0_train"));

}  // namespace
}  // namespace qn::models
