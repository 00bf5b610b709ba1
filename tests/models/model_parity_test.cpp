// Each model against its PyTorch definition with the same weights (our state dict loaded strictly into
// theirs): logits against PyTorch in f32 (rtol 1e-4, or as close to PyTorch's f64 result as its own f32
// result is) and every parameter gradient against PyTorch in f64
// (1e-3 of the tensor's scale, or as close as PyTorch's own f32 result), in eval mode and in train mode with
// dropout and drop-connect off (BatchNorm on batch statistics). EfficientNet is compared with
// torchvision's own efficientnet_b0, our torchvision variant (its padding and BatchNorm settings); the
// Transformer LM and RoBERTa with tests/parity/reference_models.py, written from fairseq's and Hugging Face's
// definitions. Sequence models are compared on their outputs and on their training losses.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/efficientnet.h"
#include "models/roberta.h"
#include "models/transformer_lm.h"
#include "tests/parity/torch_runner.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

using testing::at;

// Our side of a case's forward: the model, its input and (for losses) its targets.
using Forward = std::function<Tensor(nn::Module&, const Tensor& x, const Tensor& t)>;

struct ModelCase {
  std::string name;
  std::function<std::shared_ptr<nn::Module>()> make;
  std::string torch_ctor;
  Tensor input;
  bool train;
  Tensor targets = {};
  Forward forward = [](nn::Module& m, const Tensor& x, const Tensor&) { return m.forward(x); };
  std::string torch_forward = "m(x)";
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

// The tiny LM: 2 pre-LN layers of width 64, adaptive input and softmax tied (bands 200 / 300 / 500), or
// plain tied embeddings.
std::shared_ptr<nn::Module> tiny_lm(bool adaptive, bool quant_noise) {
  TransformerLMConfig c = TransformerLMConfig::named("transformer_lm_tiny");
  c.dropout = 0.0;
  if (!adaptive) {
    c.adaptive_input = c.adaptive_softmax = c.tie_adaptive_weights = c.tie_adaptive_proj = false;
    c.cutoffs.clear();
  }
  if (quant_noise) c.quant_noise.p = 0.1;  // adds fairseq's embedding Linear; noise itself is off in eval
  manual_seed(6);
  return std::make_shared<TransformerLM>(c);
}

std::string torch_tiny_lm(bool adaptive, bool quant_noise) {
  return std::string("reference_models.TransformerLM(1000, 64, 2, 4, 128, cutoffs=") +
         (adaptive ? "[200, 500]" : "None") + ", quant_noise=" + (quant_noise ? "True" : "False") + ")";
}

// Two rows, every band, trailing padding (id 1) in the second.
Tensor lm_tokens() {
  return from_vector<int64_t>({5, 250, 999, 17, 600, 3, 201, 42, 7, 1, 499, 500, 12, 64, 1, 1}, {2, 8});
}
Tensor lm_targets() {
  return from_vector<int64_t>({250, 999, 17, 600, 3, 201, 42, 8, 1, 499, 500, 12, 64, 2, 1, 1}, {2, 8});
}

Tensor lm_loss(nn::Module& m, const Tensor& x, const Tensor& t) { return static_cast<TransformerLM&>(m).loss(x, t); }

// The tiny RoBERTa: 2 post-LN layers of width 64 over 1,000 words; the LM head or a 3-class head.
std::shared_ptr<nn::Module> tiny_roberta(bool classifier, bool quant_noise) {
  RobertaConfig c = RobertaConfig::named("roberta_tiny");
  c.dropout = c.attention_dropout = 0.0;
  if (classifier) {
    c.lm_head = false;
    c.num_classes = 3;
  }
  if (quant_noise) c.quant_noise.p = 0.1;  // adds fairseq's embedding Linear; noise itself is off in eval
  manual_seed(9);
  return std::make_shared<Roberta>(c);
}

std::string torch_tiny_roberta(bool classifier, bool quant_noise) {
  return std::string("reference_models.Roberta(1000, 64, 2, 4, 128, 130, lm_head=") +
         (classifier ? "False, num_classes=3" : "True") + ", quant_noise=" + (quant_noise ? "True" : "False") + ")";
}

// <s> A </s></s> B </s> rows, the second padded.
Tensor roberta_ids() {
  return from_vector<int64_t>({0, 37, 512, 9, 2, 2, 801, 44, 13, 2, 0, 77, 2, 2, 999, 2, 1, 1, 1, 1}, {2, 10});
}

std::vector<ModelCase> cases() {
  std::vector<ModelCase> all = {
      {"efficientnet_b0_eval", small_efficientnet, kTorchEfficientNet, testing::random({2, 3, 64, 64}, DType::f32, 7),
       false},
      {"efficientnet_b0_train", small_efficientnet, kTorchEfficientNet, testing::random({2, 3, 64, 64}, DType::f32, 8),
       true},
      {"lm_adaptive_eval", [] { return tiny_lm(true, false); }, torch_tiny_lm(true, false), lm_tokens(), false},
      {"lm_plain_quant_noise_eval", [] { return tiny_lm(false, true); }, torch_tiny_lm(false, true), lm_tokens(),
       false}};
  ModelCase adaptive_loss{"lm_adaptive_loss_train", [] { return tiny_lm(true, false); }, torch_tiny_lm(true, false),
                          lm_tokens(), true};
  ModelCase plain_loss{"lm_plain_loss_train", [] { return tiny_lm(false, false); }, torch_tiny_lm(false, false),
                       lm_tokens(), true};
  for (ModelCase* c : {&adaptive_loss, &plain_loss}) {
    c->targets = lm_targets();
    c->forward = lm_loss;
    c->torch_forward = "m.loss(x, t)";
    all.push_back(*c);
  }
  all.push_back({"roberta_mlm_eval", [] { return tiny_roberta(false, false); }, torch_tiny_roberta(false, false),
                 roberta_ids(), false});
  all.push_back({"roberta_classifier_quant_noise_eval", [] { return tiny_roberta(true, true); },
                 torch_tiny_roberta(true, true), roberta_ids(), false});
  ModelCase mlm{"roberta_mlm_loss_train", [] { return tiny_roberta(false, false); }, torch_tiny_roberta(false, false),
                roberta_ids(), true};
  mlm.targets = from_vector<int64_t>(
      {-100, 37, -100, -100, -100, -100, 801, -100, 5, -100, -100, 77, -100, -100, 999, -100, -100, -100, -100, -100},
      {2, 10});
  mlm.forward = [](nn::Module& m, const Tensor& x, const Tensor& t) { return static_cast<Roberta&>(m).mlm_loss(x, t); };
  mlm.torch_forward = "m.mlm_loss(x, t)";
  ModelCase classify{"roberta_classifier_loss_train", [] { return tiny_roberta(true, false); },
                     torch_tiny_roberta(true, false), roberta_ids(), true};
  classify.targets = from_vector<int64_t>({2, 0}, {2});
  classify.forward = [](nn::Module& m, const Tensor& x, const Tensor& t) {
    return static_cast<Roberta&>(m).classification_loss(x, t);
  };
  classify.torch_forward = "m.classification_loss(x, t)";
  all.push_back(mlm);
  all.push_back(classify);
  return all;
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
      if (c.targets.defined()) files.push_back({c.name + ".t", c.targets});
      Ours& mine = out.ours[c.name];
      mine.logits = c.forward(*model, c.input, c.targets);
      Generator gen(3);
      const Tensor w = randn(mine.logits.shape(), DType::f32, &gen);
      files.push_back({c.name + ".w", w});
      sum(mul(mine.logits, w)).backward();
      for (const NamedTensor& p : model->named_parameters()) mine.grads.push_back({p.name, p.tensor.grad()});
      spec["cases"].push_back(
          {{"name", c.name}, {"ctor", c.torch_ctor}, {"forward", c.torch_forward}, {"train", c.train}});
      // The same in f64: the yardstick for how far f32 may stray.
      for (const NamedTensor& t : model->state_dict()) {
        files.push_back({c.name + "_f64.state." + t.name, t.tensor.clone()});
      }
      files.push_back({c.name + "_f64.x", c.input.dtype() == DType::f32 ? c.input.to(DType::f64) : c.input});
      if (c.targets.defined()) files.push_back({c.name + "_f64.t", c.targets});
      files.push_back({c.name + "_f64.w", w.to(DType::f64)});
      spec["cases"].push_back({{"name", c.name + "_f64"},
                               {"ctor", c.torch_ctor + ".double()"},
                               {"forward", c.torch_forward},
                               {"train", c.train}});
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
  // Logits within 1e-4 of PyTorch's f32 result, or no further from the f64 result than 2x PyTorch f32's own
  // error: in training mode BatchNorm on a batch of 2 amplifies rounding, and two f32 sums of the same
  // values in different orders then differ by more than 1e-4 while equally far from the exact logits.
  {
    const Tensor t32 = r.torch.at(GetParam() + ".out").to(DType::f64);
    const Tensor t64 = r.torch.at(GetParam() + "_f64.out");
    double ours_err = 0, torch_err = 0;
    for (const auto& i : testing::all_indices(t64.shape())) {
      ours_err = std::max(ours_err, std::abs(at(mine.logits, i) - at(t64, i)));
      torch_err = std::max(torch_err, std::abs(at(t32, i) - at(t64, i)));
    }
    if (ours_err > 2 * torch_err) expect_close(mine.logits, r.torch.at(GetParam() + ".out"), 1e-4, "logits");
  }
  // Gradients against PyTorch in f64: within 1e-3 of each tensor's largest entry, or no further from the f64
  // result than 4x PyTorch's own f32 error. A gradient that is zero up to rounding (a BatchNorm bias that a
  // following BatchNorm in training mode makes irrelevant; attention's key bias, a shift softmax ignores) holds
  // only the rounding of the gradients around it, whose size depends on the summation order (the BLAS kernel
  // the CPU picks): such a gradient passes within 1e-6 of the model's largest gradient entry.
  double model_scale = 0;
  for (const NamedTensor& g : mine.grads) {
    const Tensor t64 = r.torch.at(GetParam() + "_f64.grad." + g.name);
    for (const auto& i : testing::all_indices(t64.shape())) model_scale = std::max(model_scale, std::abs(at(t64, i)));
  }
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
    const bool zero_up_to_rounding = scale <= 1e-6 * model_scale && ours_err <= 1e-6 * model_scale;
    EXPECT_TRUE(ours_err <= 1e-3 * scale || ours_err <= 4 * torch_err || zero_up_to_rounding)
        << "error " << ours_err << " against f64 (largest entry " << scale << "; PyTorch f32's error " << torch_err
        << "; the model's largest gradient entry " << model_scale << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ModelParity,
                         ::testing::Values("efficientnet_b0_eval", "efficientnet_b0_train", "lm_adaptive_eval",
                                           "lm_plain_quant_noise_eval", "lm_adaptive_loss_train", "lm_plain_loss_train",
                                           "roberta_mlm_eval", "roberta_classifier_quant_noise_eval",
                                           "roberta_mlm_loss_train", "roberta_classifier_loss_train"));

}  // namespace
}  // namespace qn::models
