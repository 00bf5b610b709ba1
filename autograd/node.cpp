#include "autograd/node.h"

#include "autograd/anomaly.h"

namespace qn::autograd {
namespace {

// Thrown by SavedTensor::get, caught by Node::apply, which knows the op's name.
struct SavedTensorModified {
  std::string tensor;
  uint64_t saved_version;
  uint64_t version;
};

}  // namespace

const Tensor& SavedTensor::get() const {
  if (tensor_.defined() && tensor_.version() != version_) {
    throw SavedTensorModified{tensor_.describe(), version_, tensor_.version()};
  }
  return tensor_;
}

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  QN_CHECK(backward_ != nullptr, "backward", "the graph of ", name_,
           " was freed by an earlier backward(); pass retain_graph=true to the first call to backward twice");
  try {
    std::vector<Tensor> grads = backward_(grad_output);
    QN_CHECK(grads.size() == inputs_.size(), "backward", name_, " returned ", grads.size(), " gradients for ",
             inputs_.size(), " inputs");
    return grads;
  } catch (const SavedTensorModified& e) {
    throw_error("backward", detail::concat("a tensor ", name_, " saved for backward (", e.tensor,
                                           ") was modified in place afterwards (version ", e.saved_version, " -> ",
                                           e.version, "); clone it before writing to it"));
  }
}

bool needs_graph(const std::vector<Tensor>& inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!needs_graph(inputs)) return output;
  check_forward_output(name, output, inputs);
  std::vector<std::shared_ptr<AutogradMeta>> edges;
  edges.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    QN_CHECK(!t.defined() || !t.is_same(output), name, "an op's output must be a new tensor handle");
    edges.push_back(t.defined() && t.requires_grad() ? t.shared_autograd_meta() : nullptr);
  }
  AutogradMeta& meta = output.ensure_autograd_meta();
  meta.requires_grad = true;
  meta.grad_fn = std::make_shared<Node>(name, std::move(edges), std::move(backward));
  return output;
}

}  // namespace qn::autograd
