// The differentiable functional API: what models and layers compute with. Each op runs its kernel and,
// when an input requires grad (and grad mode is on), records a node with its backward rule. Forward and
// backward of each family sit together in autograd/ops/<family>.cpp.
#pragma once

#include <optional>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/engine.h"
#include "core/autograd_meta.h"
#include "core/generator.h"
#include "core/tensor.h"
#include "kernels/batch_norm.h"
#include "kernels/conv.h"
#include "kernels/optimizer_math.h"
#include "kernels/pool.h"

namespace qn {

// --- arithmetic (NumPy broadcasting; backward sums over broadcast dims)   ops/arithmetic.cpp
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor pow(const Tensor& a, double exponent);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
// min(max(x, lo), hi); the gradient passes where x is inside [lo, hi].
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// condition (u8) ? a : b.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// x with value wherever mask (u8, broadcast to x) is nonzero.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }

// --- casts                                                                   ops/cast.cpp
// x in another floating dtype (f32, f64, f16, bf16), rounded to nearest even; the gradient comes back in x's
// dtype. x itself when it has that dtype already. Mixed precision's cast (Tensor::to is not recorded).
Tensor to_dtype(const Tensor& x, DType dtype);

// --- in place, for optimizers and initialisation: refused on a leaf that requires grad while recording
Tensor& add_(Tensor& self, const Tensor& other, double alpha = 1.0);  // self += alpha * other
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& mul_(Tensor& self, double value);
// Fused optimizer updates of a parameter and its state, in one pass (kernels/optimizer.h, formulas in
// kernels/optimizer_math.h); momentum_buffer may be undefined where the step has none (SGD without momentum).
void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const kernels::AdamStep& step);
void sgd_step_(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const kernels::SgdStep& step);
void nag_step_(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const kernels::NagStep& step);
void rmsprop_step_(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& momentum_buffer,
                   const kernels::RmsPropStep& step);

// --- activations                                                             ops/activation.cpp
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);       // exact (erf) form
Tensor gelu_tanh(const Tensor& x);  // tanh approximation
Tensor silu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);

// --- matrix products                                                         ops/matmul.cpp
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
// x (..., in) @ weight (out, in)^T + bias (out; optional): nn.Linear's computation. Under autocast all three
// narrow, the bias included, as PyTorch's linear does.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// --- reductions (all dims when dims is empty)                               ops/reduce.cpp
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// The gradient is shared evenly among tied maxima (as PyTorch's amax).
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);

// --- views and shape                                                         ops/view.cpp
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor contiguous(const Tensor& x);
// The sum of x over the dims broadcasting added or stretched, so that the result has shape: the
// backward of every broadcasting op.
Tensor sum_to(const Tensor& x, const Shape& shape);

// --- joining                                                                 ops/join.cpp
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);

// --- indexing                                                                ops/index.cpp
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// Rows of weight for indices; the gradient rows of padding_idx stay zero (as nn.Embedding).
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx = std::nullopt);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

// --- softmax and losses                                                      ops/softmax.cpp
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// How a loss reduces its per-element values: PyTorch's reduction argument.
enum class Reduction { none, mean, sum };

struct CrossEntropyOptions {
  std::optional<int64_t> ignore_index;  // targets equal to it contribute nothing
  double label_smoothing = 0.0;         // target distribution (1 - s) one-hot + s / classes
  using Reduction = qn::Reduction;
  Reduction reduction = Reduction::mean;
};
// logits (N, C), targets (N) i64 -> loss; mean is over the targets not ignored, as in PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options = {});

// The other losses                                                            ops/loss.cpp
// log_probs (N, C), targets (N) i64: -log_probs[i, t_i]; mean over the targets not ignored.
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, std::optional<int64_t> ignore_index = std::nullopt,
                Reduction reduction = Reduction::mean);
// (input - target)^2, reduced.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
// KL(target || exp(input)) as PyTorch's kl_div: input holds log-probabilities, target probabilities;
// pointwise target (log target - input), 0 where target is 0. batchmean divides the sum by input.size(0),
// the true KL divergence per sample (distillation uses it).
enum class KlReduction { none, sum, mean, batchmean };
Tensor kl_div(const Tensor& input, const Tensor& target, KlReduction reduction = KlReduction::batchmean);

// --- normalization                                                           ops/norm.cpp
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);

// BatchNorm over (N, C) or (N, C, H, W), per channel C. Training normalizes with the batch statistics
// (biased variance) and, when running_mean/running_var are given, updates them in place:
//   running = (1 - momentum) running + momentum batch   (the variance unbiased, as PyTorch)
// Eval normalizes with the running statistics. weight and bias (C) are optional. With sum_over_processes,
// training uses the statistics of the whole batch of a data-parallel run (kernels/batch_norm.h). With an
// activation, returns act(BatchNorm(x)) in one op (silu(batch_norm(x)) without storing the normalized x).
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum = 0.1, double eps = 1e-5,
                  const kernels::SumOverProcesses& sum_over_processes = {},
                  kernels::NormActivation activation = kernels::NormActivation::none);

// --- convolution and pooling (NCHW)                                          ops/conv.cpp
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params = {});
Tensor max_pool2d(const Tensor& x, const Pool2dParams& params);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

// --- regularization                                                          ops/dropout.cpp
// Zeroes each element with probability p and scales the rest by 1/(1-p), in training only. The mask is
// drawn from gen (default: the global generator), so a (seed, offset) replays it exactly.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

// --- straight-through estimation (quantization)                             ops/straight_through.cpp
// Returns `value` (computed from x outside the graph, e.g. a noised or quantized copy of a weight) as if it
// were x: the gradient passes to x unchanged, or multiplied by pass (same shape; 1 where it passes, 0
// where it is blocked, e.g. clipped weights).
Tensor straight_through(const Tensor& x, const Tensor& value, const Tensor& pass = {});

// --- attention                                                               ops/attention.cpp
struct AttentionOptions {
  Tensor masked_out;     // u8, broadcastable to (..., L, S): 1 where a query may not attend a key
  bool causal = false;   // also mask key j > query i
  double dropout = 0.0;  // on the attention weights, in training
  bool training = false;
  Generator* gen = nullptr;
  std::optional<double> scale;  // default 1 / sqrt(E)
};
// softmax(q k^T * scale, masked entries -inf) v:  q (..., L, E), k (..., S, E), v (..., S, Ev) -> (..., L, Ev).
// A query whose keys are all masked gets NaN, as in PyTorch.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

}  // namespace qn
