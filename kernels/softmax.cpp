// Softmax and log-softmax entry points.
#include "kernels/softmax.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"

namespace qn::kernels {
namespace {

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  QN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, name, "expected a f32 or f64 tensor, got ",
           x.describe());
  const int d = normalize_dim(dim, x.dim(), name);
  const Tensor input = x.dim() == 0 ? x.reshape({1}) : x.contiguous();
  Tensor out = empty(input.shape(), x.options());
  x.device().is_cuda() ? cuda::softmax(input, d, log, out) : cpu::softmax(input, d, log, out);
  return out.view(x.shape());
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace qn::kernels
