// Containers. Children are named "0", "1", ... as in PyTorch, so "layers.3.fc1.weight" addresses the same
// tensor in both.
#pragma once

#include <memory>
#include <vector>

#include "nn/module.h"

namespace qn::nn {

// Applies its modules in order.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    modules_.push_back(module);
    return register_module(std::to_string(modules_.size() - 1), std::move(module));
  }
  Tensor forward(const Tensor& x) override;
  size_t size() const { return modules_.size(); }
  Module& operator[](size_t i) const { return *modules_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

// Holds modules for a parent's own forward to use, typed as M.
template <class M>
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    modules_.push_back(module);
    return register_module(std::to_string(modules_.size() - 1), std::move(module));
  }
  size_t size() const { return modules_.size(); }
  M& operator[](size_t i) const { return *modules_.at(i); }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<M>> modules_;
};

// Holds modules under names its owner chooses (PyTorch's ModuleDict), for nesting that only names follow:
// Hugging Face's attention.self.query, fairseq's adaptive_softmax.tail.0.2.
class ModuleDict : public Module {
 public:
  ModuleDict() : Module("ModuleDict") {}
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> module) {
    return register_module(name, std::move(module));
  }
};

}  // namespace qn::nn
