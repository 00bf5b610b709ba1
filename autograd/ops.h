// The differentiable functional API: what models and layers compute with. Each op runs its kernel and,
// when an input requires grad (and grad mode is on), records a node with its backward rule. Forward and
// backward of each family sit together in autograd/ops/<family>.cpp.
#pragma once

#include <optional>
#include <vector>

#include "autograd/engine.h"
#include "core/autograd_meta.h"
#include "core/tensor.h"

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

// --- in place, for optimizers and initialisation: refused on a leaf that requires grad while recording
Tensor& add_(Tensor& self, const Tensor& other, double alpha = 1.0);  // self += alpha * other
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& mul_(Tensor& self, double value);

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

struct CrossEntropyOptions {
  std::optional<int64_t> ignore_index;  // targets equal to it contribute nothing
  double label_smoothing = 0.0;         // target distribution (1 - s) one-hot + s / classes
  enum class Reduction { mean, sum, none } reduction = Reduction::mean;
};
// logits (N, C), targets (N) i64 -> loss; mean is over the targets not ignored, as in PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options = {});

// --- normalization                                                           ops/norm.cpp
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);

}  // namespace qn
