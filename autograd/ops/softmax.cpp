// Softmax, log-softmax and the fused cross-entropy loss.
//   softmax:      out = e^x / sum e^x         dx = out (g - sum(g out))
//   log_softmax:  out = x - log sum e^x       dx = g - e^out sum(g)
//   cross_entropy (logits (N, C), targets (N)), with p = softmax(logits) and smoothing s:
//     loss_i = -((1 - s) log p[i, t_i] + (s / C) sum_c log p[i, c])
//     dlogits[i, c] = w_i (p[i, c] - (1 - s) [c == t_i] - s / C), w_i the reduction's weight (0 if ignored)
#include "kernels/softmax.h"

#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/reduce.h"

namespace qn {

Tensor softmax(const Tensor& x, int64_t dim) {
  if (autocasts(AutocastPolicy::f32, {&x})) return softmax(autocast(x, AutocastPolicy::f32), dim);
  if (is_half(x)) return to_dtype(softmax(to_dtype(x, DType::f32), dim), x.dtype());
  Tensor out = kernels::softmax(x, dim);
  if (!needs_graph({x})) return out;
  return record("softmax", out, {x}, [so = SavedTensor(out), dim](const Tensor& g) {
    const Tensor& p = so.get();
    const Tensor dot = kernels::sum(kernels::mul(g, p), {dim}, true);
    return Grads{kernels::mul(p, kernels::sub(g, dot))};
  });
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  if (autocasts(AutocastPolicy::f32, {&x})) return log_softmax(autocast(x, AutocastPolicy::f32), dim);
  if (is_half(x)) return to_dtype(log_softmax(to_dtype(x, DType::f32), dim), x.dtype());
  Tensor out = kernels::log_softmax(x, dim);
  if (!needs_graph({x})) return out;
  return record("log_softmax", out, {x}, [so = SavedTensor(out), dim](const Tensor& g) {
    return Grads{kernels::sub(g, kernels::mul(kernels::exp(so.get()), kernels::sum(g, {dim}, true)))};
  });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options) {
  if (autocasts(AutocastPolicy::f32, {&logits})) {
    return cross_entropy(autocast(logits, AutocastPolicy::f32), targets, options);
  }
  if (is_half(logits)) return to_dtype(cross_entropy(to_dtype(logits, DType::f32), targets, options), logits.dtype());
  const kernels::CrossEntropyResult r =
      kernels::cross_entropy(logits, targets, options.ignore_index, options.label_smoothing);
  // Per-sample weights of the reduction: 1 / (targets not ignored) for mean, 1 for sum.
  const double count = static_cast<double>(r.valid_count);
  Tensor out;
  switch (options.reduction) {
    case CrossEntropyOptions::Reduction::none:
      out = r.losses;
      break;
    case CrossEntropyOptions::Reduction::sum:
      out = kernels::sum(r.losses);
      break;
    case CrossEntropyOptions::Reduction::mean:
      out = kernels::binary(kernels::BinaryOp::div, kernels::sum(r.losses), count);
      break;
  }
  if (!needs_graph({logits})) return out;
  return record("cross_entropy", out, {logits},
                [slp = SavedTensor(r.log_probs), st = SavedTensor(targets), options, count](const Tensor& g) {
                  Tensor per_sample;
                  const int64_t n = st.get().numel();
                  switch (options.reduction) {
                    case CrossEntropyOptions::Reduction::none:
                      per_sample = g;
                      break;
                    case CrossEntropyOptions::Reduction::sum:
                      per_sample = g.expand({n});
                      break;
                    case CrossEntropyOptions::Reduction::mean:
                      per_sample = kernels::binary(kernels::BinaryOp::div, g, count).expand({n});
                      break;
                  }
                  return Grads{kernels::cross_entropy_backward(slp.get(), st.get(), per_sample, options.ignore_index,
                                                               options.label_smoothing)};
                });
}

}  // namespace qn
