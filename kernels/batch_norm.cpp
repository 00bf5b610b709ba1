// BatchNorm entry points: shape and dtype checks, contiguous inputs, then the CPU or CUDA kernels.
#include "kernels/batch_norm.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

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

// The dims a channel's statistics run over: N, or N, H and W.
std::vector<int64_t> statistics_dims(const Tensor& x) {
  return x.dim() == 4 ? std::vector<int64_t>{0, 2, 3} : std::vector<int64_t>{0};
}

// A per-channel vector (C) shaped to broadcast against x.
Tensor per_channel(const Tensor& v, const Tensor& x) {
  return x.dim() == 4 ? v.view({1, v.size(0), 1, 1}) : v.view({1, v.size(0)});
}

// x's per-channel sums, brought to the host in f64.
std::vector<double> host_values(const Tensor& t) {
  const Tensor host = t.to(Device::cpu()).to(DType::f64).contiguous();
  return {host.data_ptr<double>(), host.data_ptr<double>() + host.numel()};
}

// Host values back as a per-channel tensor like `like`, from [begin, begin + n).
Tensor device_values(const std::vector<double>& values, size_t begin, int64_t n, const Tensor& like) {
  const std::vector<double> part(values.begin() + static_cast<std::ptrdiff_t>(begin),
                                 values.begin() + static_cast<std::ptrdiff_t>(begin + n));
  return from_vector(part).to(like.dtype()).to(like.device());
}

}  // namespace

BatchNormMoments synchronized_batch_norm_moments(const Tensor& x, const SumOverProcesses& sum_over_processes) {
  const int64_t c = channels_of(x);
  const std::vector<int64_t> dims = statistics_dims(x);
  // Sums in f64, as the CPU kernel accumulates (f32 sums over a large batch lose the variance's low digits).
  std::vector<double> sums = host_values(sum(x.to(DType::f64), dims));
  sums.push_back(static_cast<double>(x.numel() / c));
  sum_over_processes(sums);  // the whole batch's sums and count
  const double count = sums.back();
  for (int64_t k = 0; k < c; ++k) sums[k] /= count;
  const Tensor mean = device_values(sums, 0, c, x);
  const Tensor centered = sub(x, per_channel(mean, x));
  std::vector<double> squares = host_values(sum(mul(centered, centered).to(DType::f64), dims));
  sum_over_processes(squares);
  for (double& s : squares) s /= count;
  return {mean, device_values(squares, 0, c, x), count};
}

BatchNormGrads synchronized_batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean,
                                                const Tensor& rstd, const Tensor& weight, bool training,
                                                bool weight_grad, bool bias_grad,
                                                const SumOverProcesses& sum_over_processes) {
  const int64_t c = channels_of(x);
  const std::vector<int64_t> dims = statistics_dims(x);
  const Tensor centered = sub(x, per_channel(mean, x));
  Tensor sum_g = sum(grad.to(DType::f64), dims).to(x.dtype()),
         sum_gx = sum(mul(grad, centered).to(DType::f64), dims).to(x.dtype());
  BatchNormGrads g;  // this process's: the parameters' gradients
  if (weight_grad) g.dweight = mul(sum_gx, rstd);
  if (bias_grad) g.dbias = sum_g.clone();
  // dx = a g + slope (x - mean) + shift, a = w rstd; over the whole batch's sums
  const Tensor a = weight.defined() ? mul(weight, rstd) : rstd;
  g.dx = mul(grad, per_channel(a, x));
  if (!training) return g;
  std::vector<double> sums = host_values(sum_g);
  const std::vector<double> gx = host_values(sum_gx);
  sums.insert(sums.end(), gx.begin(), gx.end());
  sums.push_back(static_cast<double>(x.numel() / c));
  sum_over_processes(sums);
  const double count = sums.back();
  sum_g = device_values(sums, 0, c, x);
  sum_gx = device_values(sums, static_cast<size_t>(c), c, x);
  const Tensor slope = binary(BinaryOp::mul, mul(mul(a, mul(rstd, rstd)), sum_gx), -1.0 / count);
  const Tensor shift = binary(BinaryOp::mul, mul(a, sum_g), -1.0 / count);
  g.dx = add(add(g.dx, mul(centered, per_channel(slope, x))), per_channel(shift, x));
  return g;
}

BatchNormMoments batch_norm_moments(const Tensor& x, const SumOverProcesses& sum_over_processes) {
  const Device device = x.device();
  const int64_t c = channels_of(x);
  if (sum_over_processes && device.is_accelerator()) return synchronized_batch_norm_moments(x, sum_over_processes);
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
                          const Tensor& bias, NormActivation activation) {
  const Device device = common_device(kOp, {&x, &mean, &rstd, &weight, &bias});
  channels_of(x);
  check_per_channel(x, {&mean, &rstd, &weight, &bias});
  if (activation != NormActivation::none && device.is_accelerator()) {  // the activation's own kernel after
    return unary(UnaryOp::silu, batch_norm_forward(x, mean, rstd, weight, bias));
  }
  Tensor out = empty(x.shape(), x.options());
  device.is_cuda()
      ? cuda::batch_norm_forward(x.contiguous(), mean.contiguous(), rstd.contiguous(), weight, bias, out)
      : cpu::batch_norm_forward(x.contiguous(), mean.contiguous(), rstd.contiguous(), weight, bias, activation, out);
  return out;
}

BatchNormGrads batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& weight, bool training, bool weight_grad, bool bias_grad,
                                   const SumOverProcesses& sum_over_processes, NormActivation activation,
                                   const Tensor& bias) {
  const Device device = common_device(kOp, {&grad, &x, &mean, &rstd, &weight, &bias});
  const int64_t c = channels_of(x);
  QN_CHECK(grad.shape() == x.shape() && grad.dtype() == x.dtype(), kOp, "the gradient must be like the input ",
           x.describe(), ", got ", grad.describe());
  check_per_channel(x, {&mean, &rstd, &weight, &bias});
  if (activation != NormActivation::none && device.is_accelerator()) {  // through the activation's own kernel first
    const Tensor normalized = batch_norm_forward(x, mean, rstd, weight, bias);
    return batch_norm_backward(binary(BinaryOp::silu_backward, grad, normalized), x, mean, rstd, weight, training,
                               weight_grad, bias_grad, sum_over_processes);
  }
  if (sum_over_processes && device.is_accelerator()) {
    return synchronized_batch_norm_backward(grad, x, mean, rstd, weight, training, weight_grad, bias_grad,
                                            sum_over_processes);
  }
  BatchNormGrads g{empty(x.shape(), x.options()), weight_grad ? empty({c}, x.options()) : Tensor(),
                   bias_grad ? empty({c}, x.options()) : Tensor()};
  device.is_cuda()
      ? cuda::batch_norm_backward(grad.contiguous(), x.contiguous(), mean.contiguous(), rstd.contiguous(), weight,
                                  training, g.dx, g.dweight, g.dbias)
      : cpu::batch_norm_backward(grad.contiguous(), x.contiguous(), mean.contiguous(), rstd.contiguous(), weight, bias,
                                 activation, training, g.dx, g.dweight, g.dbias, sum_over_processes);
  return g;
}

}  // namespace qn::kernels
