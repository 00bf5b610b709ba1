// The recorded graph. Each differentiable op that sees an input requiring grad makes a Node: its
// backward rule (a closure over the tensors it saved) and one edge per input, pointing at the input's
// AutogradMeta. The output tensor's AutogradMeta points back at the Node (grad_fn). Nodes reference
// their inputs, never their outputs, so the graph is a DAG owned from the output side: dropping the
// last handle to a loss frees everything it recorded.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/autograd_meta.h"
#include "core/tensor.h"

namespace qn::autograd {

// Gradient with respect to the op's output -> one gradient per input (undefined: none for that input).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

class Node {
 public:
  Node(std::string name, std::vector<std::shared_ptr<AutogradMeta>> inputs, BackwardFn backward)
      : name_(std::move(name)), inputs_(std::move(inputs)), backward_(std::move(backward)) {}

  const std::string& name() const { return name_; }
  // One per op input; null where that input does not require grad.
  const std::vector<std::shared_ptr<AutogradMeta>>& inputs() const { return inputs_; }

  // Runs the backward rule. Throws qn::Error naming the op when the graph was already freed or a
  // saved tensor was modified in place since it was saved.
  std::vector<Tensor> apply(const Tensor& grad_output);
  // Frees the saved tensors (backward without retain_graph).
  void release() { backward_ = nullptr; }

 private:
  std::string name_;
  std::vector<std::shared_ptr<AutogradMeta>> inputs_;
  BackwardFn backward_;
};

// A tensor an op keeps for its backward: a detached handle (no reference back into the graph, so an op
// may save its own output) and the storage version at save time, checked when it is used.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t)
      : tensor_(t.defined() ? t.detach() : t), version_(t.defined() ? t.version() : 0) {}  // NOLINT

  // The saved tensor; throws if it was written in place after it was saved.
  const Tensor& get() const;

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

// Records op `name` on output when grad mode is on and any input requires grad: output gets a fresh
// AutogradMeta whose grad_fn runs `backward`. Returns output either way.
Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward);

// True when recording is on and one of the tensors requires grad: ops skip saving tensors otherwise.
bool needs_graph(const std::vector<Tensor>& inputs);

}  // namespace qn::autograd
