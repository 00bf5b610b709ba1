// Casts between floating dtypes, as mixed precision needs them: the forward rounds to the new dtype, the gradient
// goes back in the input's (rounded to it, as PyTorch's .to() does).
#include "autograd/ops/op_support.h"

namespace qn {

// out = x in dtype;  dx = g in x's dtype
Tensor to_dtype(const Tensor& x, DType dtype) {
  QN_CHECK(is_floating(x.dtype()) && is_floating(dtype), "to_dtype", "casts between floating dtypes, got ",
           x.describe(), " to ", dtype_name(dtype));
  if (x.dtype() == dtype) return x;
  return record("to_dtype", x.detach().to(dtype), {x},
                [from = x.dtype()](const Tensor& g) { return Grads{g.to(from)}; });
}

bool promotes(const Tensor& a, const Tensor& b) {
  return a.defined() && b.defined() && a.dtype() != b.dtype() && is_floating(a.dtype()) && is_floating(b.dtype());
}

std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b) {
  if (!promotes(a, b)) return {a, b};
  DType to;
  if ((a.dim() == 0) != (b.dim() == 0)) {
    to = a.dim() == 0 ? b.dtype() : a.dtype();
  } else if (a.dtype() == DType::f64 || b.dtype() == DType::f64) {
    to = DType::f64;
  } else {
    to = DType::f32;  // f32 with a 16-bit type, or f16 with bf16
  }
  return {to_dtype(a, to), to_dtype(b, to)};
}

}  // namespace qn
