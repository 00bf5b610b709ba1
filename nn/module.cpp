#include "nn/module.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace qn::nn {

Tensor Module::forward(const Tensor&) {
  throw_error("Module::forward", detail::concat(type_name_, " has no single-input forward; call its own"));
}

void Module::check_new_name(const std::string& name) const {
  QN_CHECK(!name.empty() && name.find('.') == std::string::npos, "Module", "invalid name '", name, "' in ", type_name_,
           ": names are non-empty and contain no '.'");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& entry) {
      if constexpr (std::is_same_v<std::decay_t<decltype(entry)>, NamedTensor>) {
        return entry.name == name;
      } else {
        return entry.first == name;
      }
    });
  };
  QN_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), "Module", "name '", name,
           "' registered twice in ", type_name_);
}

Tensor& Module::register_parameter(const std::string& name, Tensor value) {
  check_new_name(name);
  QN_CHECK(value.defined(), "register_parameter", "parameter '", name, "' of ", type_name_, " is undefined");
  value.set_requires_grad(true);
  parameters_.push_back({name, std::move(value)});
  return parameters_.back().tensor;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  buffers_.push_back({name, std::move(value)});
  return buffers_.back().tensor;
}

void Module::unregister_parameter(const std::string& name) {
  const auto found =
      std::find_if(parameters_.begin(), parameters_.end(), [&](const NamedTensor& p) { return p.name == name; });
  QN_CHECK(found != parameters_.end(), "unregister_parameter", type_name_, " has no parameter '", name, "'");
  parameters_.erase(found);
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child);
    for (auto& [sub_name, sub] : child->named_modules()) out.emplace_back(name + "." + sub_name, std::move(sub));
  }
  return out;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  QN_CHECK(module != nullptr, "register_module", "submodule '", name, "' of ", type_name_, " is null");
  children_.emplace_back(name, std::move(module));
}

template <class Visit>
void Module::visit_tensors(const std::string& prefix, bool parameters, bool buffers, const Visit& visit) const {
  if (parameters) {
    for (const NamedTensor& p : parameters_) visit(prefix + p.name, p.tensor);
  }
  if (buffers) {
    for (const NamedTensor& b : buffers_) visit(prefix + b.name, b.tensor);
  }
  for (const auto& [name, child] : children_) child->visit_tensors(prefix + name + ".", parameters, buffers, visit);
}

std::vector<NamedTensor> Module::named_parameters() const {
  std::vector<NamedTensor> out;
  visit_tensors("", true, false, [&](const std::string& name, const Tensor& t) { out.push_back({name, t}); });
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  visit_tensors("", true, false, [&](const std::string&, const Tensor& t) { out.push_back(t); });
  return out;
}

std::vector<NamedTensor> Module::named_buffers() const {
  std::vector<NamedTensor> out;
  visit_tensors("", false, true, [&](const std::string& name, const Tensor& t) { out.push_back({name, t}); });
  return out;
}

// PyTorch's order: each module's parameters, then its buffers, then its children (visit_tensors' order).
std::vector<NamedTensor> Module::state_dict() const {
  std::vector<NamedTensor> out;
  visit_tensors("", true, true, [&](const std::string& name, const Tensor& t) { out.push_back({name, t}); });
  return out;
}

std::vector<std::string> Module::load_state_dict(const std::vector<NamedTensor>& state, bool strict) {
  std::map<std::string, const Tensor*> given;
  for (const NamedTensor& t : state) given[t.name] = &t.tensor;
  std::vector<std::string> missing, mismatched, skipped;
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  for (const NamedTensor& mine : state_dict()) {
    auto it = given.find(mine.name);
    if (it == given.end()) {
      missing.push_back(mine.name);
      continue;
    }
    if (it->second->shape() != mine.tensor.shape()) {
      mismatched.push_back(
          detail::concat(mine.name, " (expected ", mine.tensor.shape(), ", got ", it->second->shape(), ")"));
    } else {
      copies.emplace_back(mine.tensor, it->second);
    }
    given.erase(it);
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, _] : given) unexpected.push_back(name);
  if (strict && (!missing.empty() || !unexpected.empty() || !mismatched.empty())) {
    std::ostringstream message;
    message << "state dict does not match " << type_name_ << ":";
    auto list = [&](const char* what, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      message << " " << what << " (" << keys.size() << "):";
      for (const std::string& k : keys) message << " " << k << ";";
    };
    list("missing keys", missing);
    list("unexpected keys", unexpected);
    list("mis-shaped keys", mismatched);
    throw_error("load_state_dict", message.str());
  }
  NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(*source);  // converts dtype as needed
  skipped = missing;
  skipped.insert(skipped.end(), unexpected.begin(), unexpected.end());
  skipped.insert(skipped.end(), mismatched.begin(), mismatched.end());
  return skipped;
}

void Module::train(bool training) {
  training_ = training;
  for (auto& [_, child] : children_) child->train(training);
}

void Module::zero_grad() {
  for (NamedTensor& p : parameters_) p.tensor.zero_grad();
  for (auto& [_, child] : children_) child->zero_grad();
}

void Module::to(Device device) {
  for (NamedTensor& t : parameters_) {
    if (t.tensor.device() == device) continue;
    t.tensor.set_data(t.tensor.to(device));
    t.tensor.zero_grad();
  }
  for (NamedTensor& t : buffers_) {
    if (t.tensor.device() != device) t.tensor.set_data(t.tensor.to(device));
  }
  for (auto& [_, child] : children_) child->to(device);
}

void Module::to(DType dtype) {
  QN_CHECK(is_floating(dtype), "Module::to", "parameters must be floating, got ", dtype);
  for (NamedTensor& t : parameters_) {
    t.tensor.set_data(t.tensor.to(dtype));
    t.tensor.zero_grad();
  }
  for (NamedTensor& t : buffers_) {
    if (is_floating(t.tensor.dtype())) t.tensor.set_data(t.tensor.to(dtype));
  }
  for (auto& [_, child] : children_) child->to(dtype);
}

}  // namespace qn::nn
