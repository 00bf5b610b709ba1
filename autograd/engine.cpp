// The backward engine. From the roots it counts, for every AutogradMeta reachable through grad_fn edges,
// how many edges lead into it; a tensor's gradient is complete once that many contributions have
// arrived, and only then do its hooks run and its grad_fn fire. Each node therefore runs exactly once,
// after everything that depends on it.
#include "autograd/engine.h"

#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "autograd/anomaly.h"
#include "autograd/autocast.h"
#include "autograd/node.h"
#include "autograd/profile.h"
#include "core/autograd_meta.h"
#include "kernels/elementwise.h"

namespace qn {
namespace {

struct Root {
  std::shared_ptr<AutogradMeta> meta;
  Tensor grad;
};

// Edge counts into every meta reachable from the roots.
std::unordered_map<AutogradMeta*, int> count_dependencies(const std::vector<Root>& roots) {
  std::unordered_map<AutogradMeta*, int> deps;
  std::vector<AutogradMeta*> stack;
  std::unordered_set<AutogradMeta*> visited;
  for (const Root& r : roots) {
    if (visited.insert(r.meta.get()).second) stack.push_back(r.meta.get());
  }
  while (!stack.empty()) {
    AutogradMeta* meta = stack.back();
    stack.pop_back();
    if (!meta->grad_fn) continue;
    for (const auto& input : meta->grad_fn->inputs()) {
      if (!input) continue;
      ++deps[input.get()];
      if (visited.insert(input.get()).second) stack.push_back(input.get());
    }
  }
  return deps;
}

Tensor accumulate(const Tensor& total, const Tensor& contribution) {
  return total.defined() ? kernels::add(total, contribution) : contribution;
}

// Adds grad into a leaf's .grad. The first gradient is adopted when nothing else holds its storage
// (no copy), else cloned; later ones are added in place.
void accumulate_into_leaf(AutogradMeta& meta, Tensor grad) {
  if (!meta.grad.defined()) {
    const bool exclusive = grad.storage().use_count() == 1 && grad.is_contiguous() && grad.offset() == 0;
    meta.grad = exclusive ? grad : grad.clone();
  } else {
    kernels::binary_out(kernels::BinaryOp::add, meta.grad, grad, meta.grad);
  }
}

// Runs the graph from roots. With capture non-null, gradients of the metas it names are stored there
// instead of being accumulated into .grad.
void run_backward(const std::vector<Root>& roots, bool retain_graph,
                  std::unordered_map<AutogradMeta*, Tensor>* capture) {
  NoGradGuard no_grad;                      // backward rules compute with ops, but nothing is recorded
  AutocastGuard no_autocast(std::nullopt);  // each rule computes in the dtypes its forward used
  std::unordered_map<AutogradMeta*, int> deps = count_dependencies(roots);
  std::unordered_map<AutogradMeta*, Tensor> pending;
  std::vector<std::shared_ptr<AutogradMeta>> ready;
  for (const Root& r : roots) {
    pending[r.meta.get()] = accumulate(pending[r.meta.get()], r.grad);
    if (deps[r.meta.get()] == 0) ready.push_back(r.meta);
  }
  while (!ready.empty()) {
    std::shared_ptr<AutogradMeta> meta = std::move(ready.back());
    ready.pop_back();
    auto it = pending.find(meta.get());
    if (it == pending.end()) continue;  // already processed (a root listed twice)
    Tensor grad = std::move(it->second);
    pending.erase(it);
    for (const GradHook& hook : meta->hooks) {
      Tensor replaced = hook(grad);
      if (replaced.defined()) grad = std::move(replaced);
    }
    if (capture && capture->count(meta.get())) {
      (*capture)[meta.get()] = grad;
    } else if (!capture && (!meta->grad_fn || meta->retains_grad)) {
      accumulate_into_leaf(*meta, grad);
      if (!meta->grad_fn) {
        for (const PostAccumulateGradHook& hook : meta->post_accumulate_hooks) hook(meta->grad);
      }
    }
    if (!meta->grad_fn) continue;
    const std::shared_ptr<autograd::Node> node = meta->grad_fn;
    const bool timed = autograd::backward_profiling();
    const auto start = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    std::vector<Tensor> input_grads = node->apply(grad);
    if (timed) {
      autograd::add_backward_time(node->name(),
                                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (autograd::anomaly_detection_enabled()) {
      std::vector<const AutogradMeta*> inputs;
      for (const auto& input : node->inputs()) inputs.push_back(input.get());
      autograd::check_backward_grads(node->name(), grad, input_grads, inputs);
    }
    grad = Tensor();
    if (!retain_graph) node->release();
    for (size_t i = 0; i < node->inputs().size(); ++i) {
      const std::shared_ptr<AutogradMeta>& input = node->inputs()[i];
      if (!input) continue;
      if (input_grads[i].defined()) pending[input.get()] = accumulate(pending[input.get()], input_grads[i]);
      if (--deps[input.get()] == 0 && pending.count(input.get())) ready.push_back(input);
    }
  }
}

Tensor default_grad(const Tensor& output, const char* op) {
  QN_CHECK(output.numel() == 1, op, "an implicit gradient needs a one-element output, got ", output.describe(),
           "; pass the gradient explicitly");
  return ones(output.shape(), output.options());
}

Root make_root(const Tensor& output, const Tensor& grad, const char* op) {
  QN_CHECK(output.requires_grad(), op, "tensor ", output.describe(),
           " does not require grad (no input of the ops that made it requires grad)");
  const Tensor g = grad.defined() ? grad : default_grad(output, op);
  QN_CHECK(g.shape() == output.shape() && g.dtype() == output.dtype(), op, "gradient ", g.describe(),
           " does not match the output ", output.describe());
  return {output.shared_autograd_meta(), g};
}

}  // namespace

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  run_backward({make_root(*this, grad, "backward")}, retain_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph) {
  QN_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad", "got ", grad_outputs.size(),
           " grad_outputs for ", outputs.size(), " outputs");
  std::vector<Root> roots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    roots.push_back(make_root(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "grad"));
  }
  std::unordered_map<AutogradMeta*, Tensor> capture;
  for (const Tensor& input : inputs) {
    QN_CHECK(input.requires_grad(), "grad", "input ", input.describe(), " does not require grad");
    capture[input.autograd_meta()] = Tensor();
  }
  run_backward(roots, retain_graph, &capture);
  std::vector<Tensor> result;
  for (const Tensor& input : inputs) result.push_back(capture[input.autograd_meta()]);
  return result;
}

}  // namespace qn
