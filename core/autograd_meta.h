// The autograd state a tensor carries, as plain data: whether it requires grad, its accumulated grad,
// the node that produced it, and hooks on its gradient. The graph and the engine that use it live in
// autograd/; core only stores it, so a tensor can be asked about it without the engine.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace qn {

namespace autograd {
class Node;
}

// GradHook (core/tensor.h) is called with the gradient flowing into a tensor; it returns the gradient
// to use instead, or an undefined tensor to keep it unchanged.

struct AutogradMeta {
  bool requires_grad = false;
  bool retains_grad = false;                // a non-leaf that keeps its .grad (retain_grad())
  Tensor grad;                              // accumulated by backward() for leaves
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
  std::vector<GradHook> hooks;
  std::vector<PostAccumulateGradHook> post_accumulate_hooks;  // leaves
};

// Whether ops record the graph, per thread. NoGradGuard turns it off for a scope.
bool grad_mode_enabled();
void set_grad_mode(bool enabled);

class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace qn
