// Cross-entropy entry points: checks, then the CPU or CUDA kernels.
#include "kernels/loss.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"
#include "kernels/softmax.h"

namespace qn::kernels {
namespace {

// Checks every target names a class (or is ignored); returns how many are not ignored. On a GPU the targets are
// read on the host (one small copy), so that a bad label is an error here rather than a fault inside a kernel.
int64_t check_targets(const Tensor& targets, int64_t n, int64_t classes, std::optional<int64_t> ignore_index) {
  QN_CHECK(targets.dtype() == DType::i64 && targets.dim() == 1 && targets.size(0) == n, "cross_entropy",
           "targets must be i64 (", n, "), got ", targets.describe());
  const Tensor t = targets.to_host().contiguous();
  const int64_t* p = t.data_ptr<int64_t>();
  int64_t valid = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool ignored = ignore_index && p[i] == *ignore_index;
    QN_CHECK((p[i] >= 0 && p[i] < classes) || ignored, "cross_entropy", "target ", p[i], " at position ", i,
             " is not a class in [0, ", classes, ")");
    valid += ignored ? 0 : 1;
  }
  return valid;
}

}  // namespace

CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, std::optional<int64_t> ignore_index,
                                 double label_smoothing) {
  const Device device = common_device("cross_entropy", {&logits, &targets});
  QN_CHECK(logits.dim() == 2, "cross_entropy", "logits must be (N, C), got ", logits.describe());
  QN_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy", "label_smoothing must lie in [0, 1], got ",
           label_smoothing);
  const int64_t valid = check_targets(targets, logits.size(0), logits.size(1), ignore_index);
  CrossEntropyResult r;
  r.log_probs = log_softmax(logits, 1);
  r.losses = empty({logits.size(0)}, logits.options());
  if (device.is_cuda()) {
    cuda::nll_with_smoothing(r.log_probs, targets.contiguous(), ignore_index, label_smoothing, r.losses);
    r.valid_count = valid;
  } else {
    r.valid_count = cpu::nll_with_smoothing(r.log_probs, targets.contiguous(), ignore_index, label_smoothing, r.losses);
  }
  return r;
}

Tensor cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, const Tensor& sample_weights,
                              std::optional<int64_t> ignore_index, double label_smoothing) {
  const Device device = common_device("cross_entropy_backward", {&log_probs, &targets, &sample_weights});
  QN_CHECK(sample_weights.shape() == Shape{log_probs.size(0)} && sample_weights.dtype() == log_probs.dtype(),
           "cross_entropy_backward", "sample weights ", sample_weights.describe(), " must be (", log_probs.size(0),
           ")");
  Tensor grad = empty(log_probs.shape(), log_probs.options());
  device.is_cuda() ? cuda::cross_entropy_backward(log_probs.contiguous(), targets.contiguous(),
                                                  sample_weights.contiguous(), ignore_index, label_smoothing, grad)
                   : cpu::cross_entropy_backward(log_probs.contiguous(), targets.contiguous(),
                                                 sample_weights.contiguous(), ignore_index, label_smoothing, grad);
  return grad;
}

}  // namespace qn::kernels
