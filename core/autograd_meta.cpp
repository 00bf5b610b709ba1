// Tensor's autograd accessors and the thread-local grad mode.
#include "core/autograd_meta.h"

namespace qn {
namespace {
thread_local bool t_grad_mode = true;
}

bool grad_mode_enabled() { return t_grad_mode; }
void set_grad_mode(bool enabled) { t_grad_mode = enabled; }

AutogradMeta* Tensor::autograd_meta() const { return impl().autograd.get(); }

std::shared_ptr<AutogradMeta> Tensor::shared_autograd_meta() const { return impl().autograd; }

AutogradMeta& Tensor::ensure_autograd_meta() {
  QN_CHECK(impl_ != nullptr, "autograd", "use of an undefined tensor");
  if (!impl_->autograd) impl_->autograd = std::make_shared<AutogradMeta>();
  return *impl_->autograd;
}

bool Tensor::requires_grad() const {
  const AutogradMeta* meta = autograd_meta();
  return meta != nullptr && meta->requires_grad;
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  QN_CHECK(is_leaf() || requires_grad, "set_requires_grad", "cannot turn off requires_grad on ", describe(),
           ", which an op produced; use detach()");
  QN_CHECK(!requires_grad || is_floating(dtype()), "set_requires_grad", "only floating tensors can require grad, got ",
           describe());
  ensure_autograd_meta().requires_grad = requires_grad;
  return *this;
}

bool Tensor::is_leaf() const {
  const AutogradMeta* meta = autograd_meta();
  return meta == nullptr || meta->grad_fn == nullptr;
}

const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  const AutogradMeta* meta = autograd_meta();
  return meta ? meta->grad : undefined;
}

void Tensor::set_grad(const Tensor& grad) {
  QN_CHECK(!grad.defined() || grad.shape() == shape(), "set_grad", "gradient ", grad.describe(), " does not match ",
           describe());
  ensure_autograd_meta().grad = grad;
}

void Tensor::zero_grad() {
  if (AutogradMeta* meta = autograd_meta()) meta->grad = Tensor();
}

void Tensor::retain_grad() {
  QN_CHECK(requires_grad(), "retain_grad", "tensor ", describe(), " does not require grad");
  ensure_autograd_meta().retains_grad = true;
}

void Tensor::register_hook(GradHook hook) {
  QN_CHECK(requires_grad(), "register_hook", "tensor ", describe(),
           " does not require grad, so no gradient reaches it");
  ensure_autograd_meta().hooks.push_back(std::move(hook));
}

void Tensor::register_post_accumulate_grad_hook(PostAccumulateGradHook hook) {
  QN_CHECK(requires_grad() && is_leaf(), "register_post_accumulate_grad_hook", "tensor ", describe(),
           " is not a leaf that requires grad: only leaves accumulate a gradient");
  ensure_autograd_meta().post_accumulate_hooks.push_back(std::move(hook));
}

Tensor Tensor::detach() const { return Tensor(storage(), offset(), shape(), strides(), dtype()); }

void Tensor::check_inplace(const char* op) const {
  QN_CHECK(!(grad_mode_enabled() && is_leaf() && requires_grad()), op, "in-place write to ", describe(),
           ", a leaf that requires grad, while the graph is being recorded; wrap it in NoGradGuard");
  storage().bump_version();
}

}  // namespace qn
