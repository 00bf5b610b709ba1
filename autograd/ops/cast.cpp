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

}  // namespace qn
