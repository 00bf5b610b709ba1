#include "autograd/autocast.h"

#include "autograd/ops.h"
#include "core/error.h"

namespace qn {
namespace {

thread_local std::optional<DType> t_autocast;

// The dtype x takes under the policy, or nullopt when it is not cast (autocast off, not floating, or f64).
std::optional<DType> target(const Tensor& x, autograd::AutocastPolicy policy) {
  if (!t_autocast || !x.defined() || !is_floating(x.dtype()) || x.dtype() == DType::f64) return std::nullopt;
  const DType to = policy == autograd::AutocastPolicy::narrow ? *t_autocast : DType::f32;
  return x.dtype() == to ? std::nullopt : std::optional<DType>(to);
}

}  // namespace

AutocastGuard::AutocastGuard(std::optional<DType> dtype) : previous_(t_autocast) {
  QN_CHECK(!dtype || *dtype == DType::bf16 || *dtype == DType::f16, "AutocastGuard",
           "autocast narrows to bf16 or f16, got ", dtype_name(*dtype));
  t_autocast = dtype;
}

AutocastGuard::~AutocastGuard() { t_autocast = previous_; }

std::optional<DType> autocast_dtype() { return t_autocast; }

namespace autograd {

bool autocasts(AutocastPolicy policy, std::initializer_list<const Tensor*> inputs) {
  if (!t_autocast) return false;
  for (const Tensor* x : inputs) {
    if (target(*x, policy)) return true;
  }
  return false;
}

Tensor autocast(const Tensor& x, AutocastPolicy policy) {
  const std::optional<DType> to = target(x, policy);
  return to ? to_dtype(x, *to) : x;
}

}  // namespace autograd
}  // namespace qn
