// BatchNorm entry points: shape and dtype checks, contiguous inputs, then the CPU or CUDA kernels.
#include "kernels/batch_norm.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"

namespace qn::kernels {
namespace {

constexpr const char* kOp = "batch_norm";

int64_t channels_of(const Tensor& x) {
  QN_CHECK((x.dim() == 2 || x.dim() == 4) && (x.dtype() == DType::f32 || x.dtype() == DType::f64), kOp,
           "expected a f32 or f64 (N, C) or (N, C, H, W) tensor, got ", x.describe());
  return x.size(1);
}

void check_per_channel(const Tensor& x, std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors) {
    QN_CHECK(!t->defined() || (t->shape() == Shape{x.size(1)} && t->dtype() == x.dtype()), kOp,
             "per-channel tensors must be ", x.dtype(), "[", x.size(1), "], got ", t->describe());
  }
}

// The CUDA kernels keep their sums on the device, and SumOverProcesses carries host sums: synchronizing them needs
// a device-side sum over the NCCL group, not written yet.
void check_cpu_if_synchronized(const Tensor& x, const SumOverProcesses& sum_over_processes) {
  QN_CHECK(!sum_over_processes || x.device().is_cpu(), kOp, "synchronized BatchNorm takes CPU tensors, got ",
           x.describe());
}

}  // namespace

BatchNormMoments batch_norm_moments(const Tensor& x, const SumOverProcesses& sum_over_processes) {
  const Device device = x.device();
  const int64_t c = channels_of(x);
  check_cpu_if_synchronized(x, sum_over_processes);
  BatchNormMoments m{empty({c}, x.options()), empty({c}, x.options())};
  if (device.is_cuda()) {
    cuda::batch_norm_moments(x.contiguous(), m.mean, m.var);
    m.count = static_cast<double>(x.numel() / c);
  } else {
    m.count = cpu::batch_norm_moments(x.contiguous(), m.mean, m.var, sum_over_processes);
  }
  return m;
}

Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                          const Tensor& bias) {
  const Device device = common_device(kOp, {&x, &mean, &rstd, &weight, &bias});
  channels_of(x);
  check_per_channel(x, {&mean, &rstd, &weight, &bias});
  Tensor out = empty(x.shape(), x.options());
  device.is_cuda() ? cuda::batch_norm_forward(x.contiguous(), mean.contiguous(), rstd.contiguous(), weight, bias, out)
                   : cpu::batch_norm_forward(x.contiguous(), mean.contiguous(), rstd.contiguous(), weight, bias, out);
  return out;
}

BatchNormGrads batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& weight, bool training, bool weight_grad, bool bias_grad,
                                   const SumOverProcesses& sum_over_processes) {
  const Device device = common_device(kOp, {&grad, &x, &mean, &rstd, &weight});
  const int64_t c = channels_of(x);
  check_cpu_if_synchronized(x, sum_over_processes);
  QN_CHECK(grad.shape() == x.shape() && grad.dtype() == x.dtype(), kOp, "the gradient must be like the input ",
           x.describe(), ", got ", grad.describe());
  check_per_channel(x, {&mean, &rstd, &weight});
  BatchNormGrads g{empty(x.shape(), x.options()), weight_grad ? empty({c}, x.options()) : Tensor(),
                   bias_grad ? empty({c}, x.options()) : Tensor()};
  device.is_cuda() ? cuda::batch_norm_backward(grad.contiguous(), x.contiguous(), mean.contiguous(), rstd.contiguous(),
                                               weight, training, g.dx, g.dweight, g.dbias)
                   : cpu::batch_norm_backward(grad.contiguous(), x.contiguous(), mean.contiguous(), rstd.contiguous(),
                                              weight, training, g.dx, g.dweight, g.dbias, sum_over_processes);
  return g;
}

}  // namespace qn::kernels
