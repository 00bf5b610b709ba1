// Fused optimizer steps: argument checks, then the CPU or CUDA kernel.
#include "kernels/optimizer.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"

namespace qn::kernels {
namespace {

// The parameter and its defined state tensors: one device, one floating dtype, contiguous, one shape. The
// gradient, of the parameter's shape and dtype, comes back contiguous. Every written tensor's version moves on.
Tensor checked(const char* op, const Tensor& param, const Tensor& grad, std::initializer_list<const Tensor*> state) {
  QN_CHECK(param.dtype() == DType::f32 || param.dtype() == DType::f64, op, "expected an f32 or f64 parameter, got ",
           param.describe());
  QN_CHECK(grad.shape() == param.shape() && grad.dtype() == param.dtype(), op, "gradient ", grad.describe(),
           " does not match parameter ", param.describe());
  common_device(op, {&param, &grad});
  for (const Tensor* t : state) {
    if (!t->defined()) continue;
    common_device(op, {&param, t});
    QN_CHECK(t->shape() == param.shape() && t->dtype() == param.dtype() && t->is_contiguous(), op, "state ",
             t->describe(), " does not match parameter ", param.describe());
    t->storage().bump_version();
  }
  QN_CHECK(param.is_contiguous(), op, "expected a contiguous parameter, got ", param.describe());
  param.storage().bump_version();
  return grad.contiguous();
}

}  // namespace

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const AdamStep& step) {
  QN_CHECK(exp_avg.defined() && exp_avg_sq.defined(), "adam_step", "both moments must be defined");
  const Tensor g = checked("adam_step", param, grad, {&exp_avg, &exp_avg_sq});
  param.is_cuda() ? cuda::adam_step(param, g, exp_avg, exp_avg_sq, step)
                  : cpu::adam_step(param, g, exp_avg, exp_avg_sq, step);
}

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStep& step) {
  const Tensor g = checked("sgd_step", param, grad, {&momentum_buffer});
  param.is_cuda() ? cuda::sgd_step(param, g, momentum_buffer, step) : cpu::sgd_step(param, g, momentum_buffer, step);
}

void nag_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const NagStep& step) {
  QN_CHECK(momentum_buffer.defined(), "nag_step", "the momentum buffer must be defined");
  const Tensor g = checked("nag_step", param, grad, {&momentum_buffer});
  param.is_cuda() ? cuda::nag_step(param, g, momentum_buffer, step) : cpu::nag_step(param, g, momentum_buffer, step);
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& momentum_buffer,
                  const RmsPropStep& step) {
  QN_CHECK(square_avg.defined(), "rmsprop_step", "the square average must be defined");
  const Tensor g = checked("rmsprop_step", param, grad, {&square_avg, &momentum_buffer});
  param.is_cuda() ? cuda::rmsprop_step(param, g, square_avg, momentum_buffer, step)
                  : cpu::rmsprop_step(param, g, square_avg, momentum_buffer, step);
}

}  // namespace qn::kernels
