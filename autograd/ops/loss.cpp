// Losses composed of recorded ops (their backward is the ops'): NLL, MSE, KL divergence.
#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace qn {
namespace {

Tensor reduce(const Tensor& values, Reduction reduction) {
  switch (reduction) {
    case Reduction::none:
      return values;
    case Reduction::sum:
      return sum(values);
    case Reduction::mean:
      return mean(values);
  }
  return values;
}

}  // namespace

// loss_i = -lp[i, t_i] for targets not ignored; mean divides by their count.
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, std::optional<int64_t> ignore_index,
                Reduction reduction) {
  QN_CHECK(log_probs.dim() == 2 && targets.dim() == 1 && targets.dtype() == DType::i64 &&
               targets.size(0) == log_probs.size(0),
           "nll_loss", "expected log_probs (N, C) and i64 targets (N), got ", log_probs.describe(), " and ",
           targets.describe());
  if (autocasts(AutocastPolicy::f32, {&log_probs})) {
    return nll_loss(autocast(log_probs, AutocastPolicy::f32), targets, ignore_index, reduction);
  }
  Tensor valid = ones(targets.shape(), TensorOptions(DType::u8, targets.device()));
  Tensor safe_targets = targets;
  if (ignore_index) {
    valid = kernels::compare(kernels::CompareOp::ne, targets, static_cast<double>(*ignore_index));
    safe_targets = kernels::where(valid, targets, scalar_tensor(0, targets.options()));  // any class: masked below
  }
  const Tensor picked = reshape(gather(log_probs, 1, safe_targets.view({-1, 1})), {targets.size(0)});
  const Tensor weights = valid.to(log_probs.dtype());
  const Tensor losses = neg(mul(picked, weights));
  if (reduction != Reduction::mean) return reduce(losses, reduction);
  const double count = kernels::sum(weights).item<double>();
  return mul(sum(losses), 1.0 / count);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  constexpr AutocastPolicy kF32 = AutocastPolicy::f32;
  if (autocasts(kF32, {&input, &target})) return mse_loss(autocast(input, kF32), autocast(target, kF32), reduction);
  const Tensor diff = sub(input, target);
  return reduce(mul(diff, diff), reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, KlReduction reduction) {
  constexpr AutocastPolicy kF32 = AutocastPolicy::f32;
  if (autocasts(kF32, {&input, &target})) return kl_div(autocast(input, kF32), autocast(target, kF32), reduction);
  // log(target) only where target > 0: elsewhere the pointwise loss is 0 (PyTorch's xlogy convention).
  const Tensor positive = kernels::compare(kernels::CompareOp::gt, target, 0.0);
  const Tensor safe_target = where(positive, target, ones({}, target.options()));
  const Tensor pointwise = mul(target, sub(log(safe_target), input));
  switch (reduction) {
    case KlReduction::none:
      return pointwise;
    case KlReduction::sum:
      return sum(pointwise);
    case KlReduction::mean:
      return mean(pointwise);
    case KlReduction::batchmean:
      return mul(sum(pointwise), 1.0 / static_cast<double>(input.size(0)));
  }
  return pointwise;
}

}  // namespace qn
