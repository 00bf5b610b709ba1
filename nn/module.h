// Module: a layer or model. It owns named parameters (trainable tensors), buffers (state such as
// BatchNorm's running statistics) and submodules, and names them the way PyTorch does —
// "layers.0.fc1.weight" — so state dicts move between the two unchanged.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "core/safetensors.h"

namespace qn::nn {

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The forward of a single-input module (layers, Sequential). Modules with other inputs define their own.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  const std::string& type_name() const { return type_name_; }

  // --- the tree, in registration order: a module's own tensors, then its children's, depth first (as
  // PyTorch's named_parameters / state_dict order)
  std::vector<NamedTensor> named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::vector<NamedTensor> named_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  // Every submodule by dotted path, depth first in registration order (this module itself excluded).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;

  // --- modes
  void train(bool training = true);  // this module and every submodule
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // --- state
  // Parameters and buffers by dotted name (handles to the module's own tensors, not copies).
  std::vector<NamedTensor> state_dict() const;
  // Copies matching tensors in. Strict: any missing, unexpected or mis-shaped key is an error listing all
  // of them; non-strict: loads what matches and returns the keys it skipped.
  std::vector<std::string> load_state_dict(const std::vector<NamedTensor>& state, bool strict = true);
  void zero_grad();
  // Moves every parameter and buffer to device (in place of the module's tensors).
  void to(Device device);
  // Converts every floating parameter and buffer to dtype in place (integer buffers keep theirs); drops
  // accumulated gradients.
  void to(DType dtype);

 protected:
  // Registration, from constructors. Parameters are marked requires_grad.
  Tensor& register_parameter(const std::string& name, Tensor value);
  Tensor& register_buffer(const std::string& name, Tensor value);
  // Drops a parameter from the tree (e.g. a dense weight replaced by its quantized form); the module's own
  // handle to the tensor is its business.
  void unregister_parameter(const std::string& name);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;
  template <class Visit>
  void visit_tensors(const std::string& prefix, bool parameters, bool buffers, const Visit& visit) const;

  std::string type_name_;
  std::vector<NamedTensor> parameters_;
  std::vector<NamedTensor> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace qn::nn
