// Fused cross-entropy: log-softmax and the negative log-likelihood (with label smoothing and an
// ignored target) in one pass per row, and its backward.
#pragma once

#include <optional>

#include "core/tensor.h"

namespace qn::kernels {

struct CrossEntropyResult {
  Tensor losses;            // (N): 0 where the target is ignored
  Tensor log_probs;         // (N, C): kept for the backward
  int64_t valid_count = 0;  // targets not ignored
};

// logits (N, C) f32/f64, targets (N) i64 in [0, C) or equal to ignore_index.
//   loss_i = -((1 - s) log p[i, t_i] + (s / C) sum_c log p[i, c])
CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, std::optional<int64_t> ignore_index,
                                 double label_smoothing);
// d loss / d logits weighted per sample:  w_i (p[i, c] - (1 - s) [c == t_i] - s / C), 0 for ignored rows.
Tensor cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, const Tensor& sample_weights,
                              std::optional<int64_t> ignore_index, double label_smoothing);

}  // namespace qn::kernels
