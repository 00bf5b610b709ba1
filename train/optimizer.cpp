#include "train/optimizer.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "core/autograd_meta.h"
#include "core/parse_integer.h"

namespace qn::train {

Optimizer::Optimizer(std::vector<ParamGroup> groups) { reset(std::move(groups)); }

void Optimizer::reset(std::vector<ParamGroup> groups) {
  groups_ = std::move(groups);
  state_.clear();
  steps_ = 0;
  QN_CHECK(!groups_.empty(), "Optimizer", "no parameter groups");
  for (const ParamGroup& g : groups_) {
    QN_CHECK(g.lr >= 0 && g.weight_decay >= 0, "Optimizer", "lr and weight_decay must be non-negative, got ", g.lr,
             " and ", g.weight_decay);
    for (const Tensor& p : g.params) {
      QN_CHECK(p.requires_grad() && p.is_leaf(), "Optimizer", "parameter ", p.describe(),
               " must be a leaf that requires grad");
    }
    state_.emplace_back(g.params.size());
  }
}

void Optimizer::step() {
  NoGradGuard no_grad;
  ++steps_;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      Tensor& p = groups_[gi].params[pi];
      if (!p.grad().defined()) continue;
      update(p, p.grad(), gi, groups_[gi], state_[gi][pi]);
    }
  }
}

void Optimizer::zero_grad() {
  for (ParamGroup& g : groups_) {
    for (Tensor& p : g.params) p.zero_grad();
  }
}

Tensor Optimizer::state_tensor(std::vector<NamedTensor>& state, const std::string& name, const Tensor& p) {
  for (NamedTensor& t : state) {
    if (t.name == name) return t.tensor;
  }
  state.push_back({name, zeros_like(p)});
  return state.back().tensor;
}

std::vector<NamedTensor> Optimizer::state_dict() const {
  std::vector<NamedTensor> out{{"step", scalar_tensor(static_cast<double>(steps_), DType::i64)}};
  for (size_t gi = 0; gi < state_.size(); ++gi) {
    for (size_t pi = 0; pi < state_[gi].size(); ++pi) {
      for (const NamedTensor& t : state_[gi][pi]) {
        out.push_back({std::to_string(gi) + "." + std::to_string(pi) + "." + t.name, t.tensor.clone()});
      }
    }
  }
  return out;
}

namespace {
// "12" -> 12; anything else (empty, a sign, other characters, overflow) is an error naming the key.
size_t parse_index(std::string_view text, const std::string& key) {
  const std::optional<size_t> index = parse_integer<size_t>(text);
  QN_CHECK(index.has_value(), "Optimizer::load_state_dict", "unexpected key '", key, "'");
  return *index;
}
}  // namespace

// The whole state is read and checked first and replaces the optimizer's only when all of it fits.
void Optimizer::load_state_dict(const std::vector<NamedTensor>& state) {
  auto loaded = state_;
  for (auto& group : loaded) {
    for (auto& buffers : group) buffers.clear();
  }
  int64_t steps = steps_;
  for (const NamedTensor& t : state) {
    if (t.name == "step") {
      QN_CHECK(t.tensor.numel() == 1, "Optimizer::load_state_dict", "'step' holds ", t.tensor.numel(),
               " values, expected 1");
      steps = t.tensor.to(DType::i64).item<int64_t>();
      continue;
    }
    const size_t first = t.name.find('.');
    const size_t second = first == std::string::npos ? first : t.name.find('.', first + 1);
    QN_CHECK(first != std::string::npos && second != std::string::npos, "Optimizer::load_state_dict",
             "unexpected key '", t.name, "'");
    const std::string_view name(t.name);
    const size_t gi = parse_index(name.substr(0, first), t.name);
    const size_t pi = parse_index(name.substr(first + 1, second - first - 1), t.name);
    QN_CHECK(gi < loaded.size() && pi < loaded[gi].size(), "Optimizer::load_state_dict", "key '", t.name,
             "' names a parameter this optimizer does not have");
    QN_CHECK(t.tensor.dim() == 0 || t.tensor.shape() == groups_[gi].params[pi].shape(), "Optimizer::load_state_dict",
             "key '", t.name, "' has shape ", t.tensor.shape(), ", the parameter ", groups_[gi].params[pi].shape());
    // Buffers shaped like their parameter live on its device; scalars (step counts) stay on the host.
    const Device device = groups_[gi].params[pi].device();
    const bool stays = t.tensor.dim() == 0 || t.tensor.device() == device;
    loaded[gi][pi].push_back({t.name.substr(second + 1), stays ? t.tensor.clone() : t.tensor.to(device)});
  }
  state_ = std::move(loaded);
  steps_ = steps;
}

}  // namespace qn::train
