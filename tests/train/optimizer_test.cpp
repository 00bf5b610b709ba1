// Optimizers against torch.optim: 10 steps from identical parameters and gradients, parameters compared
// after every step (f32, rtol 1e-6); parameter groups; state dicts that resume exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/parity/torch_runner.h"
#include "tests/reference.h"
#include "train/adam.h"
#include "train/nag.h"
#include "train/rmsprop.h"
#include "train/sgd.h"

namespace qn::train {
namespace {

using testing::at;

constexpr int kSteps = 10;

struct GroupSpec {
  std::vector<int> indices;
  double lr;
  double weight_decay;
};

struct OptimCase {
  std::string name;
  std::vector<GroupSpec> groups;
  std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>)> make;
  std::string torch_ctor;        // over `groups`, each {"params", "lr", "weight_decay"}
  std::vector<double> lrs = {};  // when given, every group's lr before step s (as a schedule would set it)
};

const std::vector<Shape> kShapes = {{4, 3}, {3}, {2, 2, 2}};

const std::vector<OptimCase>& optim_cases() {
  static const std::vector<OptimCase> cases = {
      {"sgd",
       {{{0, 1, 2}, 0.1, 0.0}},
       [](auto g) { return std::make_unique<Sgd>(std::move(g), SgdOptions{}); },
       "torch.optim.SGD(groups)"},
      {"sgd_momentum_dampening_decay",
       {{{0, 1, 2}, 0.05, 0.01}},
       [](auto g) {
         return std::make_unique<Sgd>(std::move(g), SgdOptions{0.9, 0.1, false});
       },
       "torch.optim.SGD(groups, momentum=0.9, dampening=0.1)"},
      {"sgd_nesterov",
       {{{0, 1, 2}, 0.05, 0.001}},
       [](auto g) {
         return std::make_unique<Sgd>(std::move(g), SgdOptions{0.99, 0.0, true});
       },
       "torch.optim.SGD(groups, momentum=0.99, nesterov=True)"},
      {"sgd_two_groups",
       {{{0, 2}, 0.1, 0.01}, {{1}, 0.02, 0.0}},
       [](auto g) {
         return std::make_unique<Sgd>(std::move(g), SgdOptions{0.9, 0.0, false});
       },
       "torch.optim.SGD(groups, momentum=0.9)"},
      {"adam",
       {{{0, 1, 2}, 1e-2, 0.0}},
       [](auto g) { return std::make_unique<Adam>(std::move(g), AdamOptions{}); },
       "torch.optim.Adam(groups)"},
      {"adam_decay_betas",
       {{{0, 1, 2}, 3e-3, 0.01}},
       [](auto g) {
         return std::make_unique<Adam>(std::move(g), AdamOptions{0.8, 0.98, 1e-6, false});
       },
       "torch.optim.Adam(groups, betas=(0.8, 0.98), eps=1e-6)"},
      {"adamw",
       {{{0, 1, 2}, 1e-2, 0.1}},
       [](auto g) { return std::make_unique<Adam>(std::move(g), adamw_options()); },
       "torch.optim.AdamW(groups)"},
      {"adamw_two_groups",
       {{{0, 1}, 1e-2, 0.05}, {{2}, 5e-3, 0.0}},
       [](auto g) { return std::make_unique<Adam>(std::move(g), adamw_options(0.9, 0.98, 1e-6)); },
       "torch.optim.AdamW(groups, betas=(0.9, 0.98), eps=1e-6)"},
      {"rmsprop",
       {{{0, 1, 2}, 1e-2, 0.0}},
       [](auto g) { return std::make_unique<RmsProp>(std::move(g), RmsPropOptions{}); },
       "torch.optim.RMSprop(groups)"},
      {"rmsprop_momentum_decay",
       {{{0, 1, 2}, 5e-3, 1e-4}},
       [](auto g) {
         return std::make_unique<RmsProp>(std::move(g), RmsPropOptions{0.9, 1e-3, 0.9, false});
       },
       "torch.optim.RMSprop(groups, alpha=0.9, eps=1e-3, momentum=0.9)"},
      {"nag_fairseq",
       {{{0, 1, 2}, 0.1, 0.0}},
       [](auto g) { return std::make_unique<Nag>(std::move(g), 0.99); },
       "FairseqNAG(groups, lr=0.1, momentum=0.99)"},
      {"nag_fairseq_changing_lr_decay",
       {{{0, 1}, 0.1, 0.01}, {{2}, 0.1, 0.0}},
       [](auto g) { return std::make_unique<Nag>(std::move(g), 0.9); },
       "FairseqNAG(groups, lr=0.1, momentum=0.9)",
       {0.05, 0.1, 0.1, 0.08, 0.06, 0.06, 0.04, 0.03, 0.02, 0.01}},
  };
  return cases;
}

void PrintTo(const OptimCase& c, std::ostream* out) { *out << c.name; }

Tensor initial(int k) { return testing::random(kShapes[k], DType::f32, 100 + k); }
Tensor gradient(int step, int k) { return testing::random(kShapes[k], DType::f32, 1000 + 10 * step + k); }

// Our parameters after each step: [step][k].
std::vector<std::vector<Tensor>> run_ours(const OptimCase& c, int steps) {
  std::vector<Tensor> params;
  for (int k = 0; k < 3; ++k) params.push_back(initial(k).set_requires_grad(true));
  std::vector<ParamGroup> groups;
  for (const GroupSpec& g : c.groups) {
    ParamGroup group{{}, g.lr, g.weight_decay};
    for (int k : g.indices) group.params.push_back(params[k]);
    groups.push_back(group);
  }
  std::unique_ptr<Optimizer> optimizer = c.make(groups);
  std::vector<std::vector<Tensor>> history;
  for (int s = 0; s < steps; ++s) {
    for (int k = 0; k < 3; ++k) params[k].set_grad(gradient(s, k));
    if (!c.lrs.empty()) {
      for (ParamGroup& g : optimizer->groups()) g.lr = c.lrs[s];
    }
    optimizer->step();
    std::vector<Tensor> snapshot;
    for (const Tensor& p : params) snapshot.push_back(p.clone());
    history.push_back(snapshot);
  }
  return history;
}

const SafetensorsContent& torch_results() {
  static const SafetensorsContent results = [] {
    std::vector<NamedTensor> files;
    nlohmann::json spec = {{"cases", nlohmann::json::array()}};
    for (const OptimCase& c : optim_cases()) {
      for (int k = 0; k < 3; ++k) files.push_back({c.name + ".p" + std::to_string(k), initial(k)});
      for (int s = 0; s < kSteps; ++s) {
        for (int k = 0; k < 3; ++k)
          files.push_back({c.name + ".g" + std::to_string(s) + "." + std::to_string(k), gradient(s, k)});
      }
      nlohmann::json groups = nlohmann::json::array();
      for (const GroupSpec& g : c.groups) {
        groups.push_back({{"indices", g.indices}, {"options", {{"lr", g.lr}, {"weight_decay", g.weight_decay}}}});
      }
      spec["cases"].push_back({{"name", c.name},
                               {"params", 3},
                               {"groups", groups},
                               {"ctor", c.torch_ctor},
                               {"steps", kSteps},
                               {"lrs", c.lrs}});
    }
    return testing::run_torch_reference("optim", spec, files);
  }();
  return results;
}

class OptimizerParity : public ::testing::TestWithParam<OptimCase> {};

TEST_P(OptimizerParity, TenStepsMatchTorchOptim) {
  const OptimCase& c = GetParam();
  const auto ours = run_ours(c, kSteps);
  for (int s = 0; s < kSteps; ++s) {
    for (int k = 0; k < 3; ++k) {
      SCOPED_TRACE("step " + std::to_string(s) + " parameter " + std::to_string(k));
      const Tensor& theirs = torch_results().at(c.name + ".p" + std::to_string(s) + "." + std::to_string(k));
      testing::expect_all_close(
          ours[s][k], kShapes[k], [&](const testing::Index& i) { return at(theirs, i); }, 1e-6, 1e-7);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, OptimizerParity, ::testing::ValuesIn(optim_cases()),
                         [](const ::testing::TestParamInfo<OptimCase>& row) { return row.param.name; });

// 5 steps, state dict into a fresh optimizer, 5 more: bit-for-bit what 10 straight steps give.
TEST(OptimizerState, ResumesExactly) {
  for (const OptimCase& c : optim_cases()) {
    const auto straight = run_ours(c, kSteps);
    std::vector<Tensor> params;
    for (int k = 0; k < 3; ++k) params.push_back(initial(k).set_requires_grad(true));
    auto groups_for = [&] {
      std::vector<ParamGroup> groups;
      for (const GroupSpec& g : c.groups) {
        ParamGroup group{{}, g.lr, g.weight_decay};
        for (int k : g.indices) group.params.push_back(params[k]);
        groups.push_back(group);
      }
      return groups;
    };
    std::unique_ptr<Optimizer> first = c.make(groups_for());
    auto set_lr = [&](Optimizer& o, int s) {
      if (c.lrs.empty()) return;
      for (ParamGroup& g : o.groups()) g.lr = c.lrs[s];
    };
    for (int s = 0; s < 5; ++s) {
      for (int k = 0; k < 3; ++k) params[k].set_grad(gradient(s, k));
      set_lr(*first, s);
      first->step();
    }
    std::unique_ptr<Optimizer> second = c.make(groups_for());
    second->load_state_dict(first->state_dict());
    EXPECT_EQ(second->steps(), 5);
    for (int s = 5; s < kSteps; ++s) {
      for (int k = 0; k < 3; ++k) params[k].set_grad(gradient(s, k));
      set_lr(*second, s);
      second->step();
    }
    for (int k = 0; k < 3; ++k) {
      for (const auto& i : testing::all_indices(kShapes[k])) {
        ASSERT_EQ(at(params[k], i), at(straight[kSteps - 1][k], i)) << c.name;
      }
    }
  }
}

// TensorFlow-style RMSProp (no PyTorch counterpart): two steps by the definition, one scalar parameter.
TEST(RmsPropTensorFlow, FollowsTheDefinition) {
  Tensor p = from_vector<double>({1.0}).set_requires_grad(true);
  RmsProp rms({{{p}, 0.1, 0.0}}, RmsPropOptions{0.9, 1e-3, 0.9, true});
  double sq = 1.0, buf = 0.0, value = 1.0;  // the squared average starts at one
  for (double g : {0.5, -0.25}) {
    p.set_grad(from_vector<double>({g}));
    rms.step();
    sq = 0.9 * sq + 0.1 * g * g;
    buf = 0.9 * buf + 0.1 * g / std::sqrt(sq + 1e-3);  // eps inside the root, lr inside the momentum
    value -= buf;
    EXPECT_NEAR(at(p, {0}), value, 1e-15);
  }
}

TEST(OptimizerState, RejectsForeignState) {
  Tensor p = ones({3}).set_requires_grad(true);
  Sgd sgd({{{p}, 0.1, 0.0}}, SgdOptions{0.9, 0.0, false});
  EXPECT_QN_ERROR(sgd.load_state_dict({{"0.5.momentum_buffer", zeros({3})}}), "names a parameter");
  EXPECT_QN_ERROR(sgd.load_state_dict({{"0.0.momentum_buffer", zeros({4})}}), "has shape [4]");
  EXPECT_QN_ERROR(Sgd({{{ones({2})}, 0.1, 0.0}}, SgdOptions{}), "Optimizer", "leaf that requires grad");
}

}  // namespace
}  // namespace qn::train
