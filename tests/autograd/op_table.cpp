#include "tests/autograd/op_table.h"

namespace qn::testing {
namespace {

using V = InputSpec::Values;
using X = const std::vector<Tensor>&;

InputSpec in(Shape shape, V values = V::normal) { return {shape, values, false}; }
InputSpec strided(Shape shape, V values = V::normal) { return {shape, values, true}; }

Tensor u8(const std::vector<uint8_t>& values, const Shape& shape) { return from_vector<uint8_t>(values, shape); }
Tensor i64(const std::vector<int64_t>& values, const Shape& shape) { return from_vector<int64_t>(values, shape); }

CrossEntropyOptions ce(std::optional<int64_t> ignore, double smoothing, CrossEntropyOptions::Reduction r) {
  CrossEntropyOptions o;
  o.ignore_index = ignore;
  o.label_smoothing = smoothing;
  o.reduction = r;
  return o;
}

std::vector<OpCase> build() {
  using R = CrossEntropyOptions::Reduction;
  const Tensor mask = u8({1, 0, 0, 1, 1, 0, 1, 0}, {2, 4});
  const Tensor idx = i64({2, 0, 2, 1}, {4});
  const Tensor gather_idx = i64({0, 2, 1, 1, 2, 0}, {3, 2});
  const Tensor targets = i64({1, 0, 3, 2, 1}, {5});
  const Tensor targets_ignored = i64({1, -100, 3, 2, -100}, {5});
  return {
      // arithmetic
      {"add", {in({3, 1, 4}), in({2, 1})}, [](X x) { return add(x[0], x[1]); }},
      {"sub", {in({4}), strided({3, 4})}, [](X x) { return sub(x[0], x[1]); }},
      {"mul", {strided({3, 4}), in({3, 1})}, [](X x) { return mul(x[0], x[1]); }},
      {"div", {in({3, 4}), in({4}, V::positive)}, [](X x) { return div(x[0], x[1]); }},
      {"pow", {in({3, 4}, V::positive), in({4})}, [](X x) { return pow(x[0], x[1]); }},
      {"add_scalar", {in({5})}, [](X x) { return add(x[0], 2.5); }},
      {"mul_scalar", {strided({2, 3})}, [](X x) { return mul(x[0], -1.5); }},
      {"pow_scalar", {in({6}, V::positive)}, [](X x) { return pow(x[0], 2.5); }},
      {"neg", {in({4})}, [](X x) { return neg(x[0]); }},
      {"exp", {strided({3, 3})}, [](X x) { return exp(x[0]); }},
      {"log", {in({6}, V::positive)}, [](X x) { return log(x[0]); }},
      {"sqrt", {in({6}, V::positive)}, [](X x) { return sqrt(x[0]); }},
      {"rsqrt", {in({6}, V::positive)}, [](X x) { return rsqrt(x[0]); }},
      {"abs", {in({6}, V::away_from_zero)}, [](X x) { return abs(x[0]); }},
      {"clamp", {in({3, 4})}, [](X x) { return clamp(x[0], -0.7, 0.6); }},
      {"clamp_lower", {in({8})}, [](X x) { return clamp(x[0], 0.1, std::nullopt); }},
      {"where", {in({2, 4}), in({4})}, [mask](X x) { return where(mask, x[0], x[1]); }},
      {"masked_fill", {strided({2, 4})}, [mask](X x) { return masked_fill(x[0], mask, -3.0); }},
      // activations
      {"relu", {in({3, 5}, V::away_from_zero)}, [](X x) { return relu(x[0]); }},
      {"gelu", {in({3, 5})}, [](X x) { return gelu(x[0]); }},
      {"gelu_tanh", {strided({3, 5})}, [](X x) { return gelu_tanh(x[0]); }},
      {"silu", {in({3, 5})}, [](X x) { return silu(x[0]); }},
      {"sigmoid", {in({3, 5})}, [](X x) { return sigmoid(x[0]); }},
      {"tanh", {in({3, 5})}, [](X x) { return tanh(x[0]); }},
      // matrix products
      {"matmul", {in({3, 4}), in({4, 5})}, [](X x) { return matmul(x[0], x[1]); }},
      {"matmul_transposed", {strided({3, 4}), strided({4, 2})}, [](X x) { return matmul(x[0], x[1]); }},
      {"matmul_batch_broadcast", {in({2, 1, 3, 4}), in({3, 4, 2})}, [](X x) { return matmul(x[0], x[1]); }},
      {"matmul_shared_rhs", {in({2, 3, 4}), in({4, 5})}, [](X x) { return matmul(x[0], x[1]); }},
      {"matmul_vector_matrix", {in({4}), in({4, 3})}, [](X x) { return matmul(x[0], x[1]); }},
      {"matmul_matrix_vector", {in({3, 4}), in({4})}, [](X x) { return matmul(x[0], x[1]); }},
      {"matmul_dot", {in({5}), in({5})}, [](X x) { return matmul(x[0], x[1]); }},
      {"bmm", {in({2, 3, 4}), strided({2, 4, 3})}, [](X x) { return bmm(x[0], x[1]); }},
      // reductions
      {"sum_all", {strided({3, 4})}, [](X x) { return sum(x[0]); }},
      {"sum_dims", {in({2, 3, 4})}, [](X x) { return sum(x[0], {0, 2}); }},
      {"sum_keepdim", {in({2, 3, 4})}, [](X x) { return sum(x[0], {-1}, true); }},
      {"mean", {in({2, 3, 4})}, [](X x) { return mean(x[0], {1}); }},
      {"amax", {in({3, 5})}, [](X x) { return amax(x[0], {1}); }},
      {"amin", {strided({3, 5})}, [](X x) { return amin(x[0], {0}, true); }},
      {"var", {in({3, 6})}, [](X x) { return var(x[0], {1}); }},
      {"var_all_biased", {in({4, 3})}, [](X x) { return var(x[0], {}, 0); }},
      // views
      {"reshape", {strided({3, 4})}, [](X x) { return reshape(x[0], {2, 6}); }},
      {"view", {in({3, 4})}, [](X x) { return view(x[0], {4, -1}); }},
      {"flatten", {in({2, 3, 2})}, [](X x) { return flatten(x[0], 1); }},
      {"transpose", {in({2, 3, 4})}, [](X x) { return transpose(x[0], 0, 2); }},
      {"permute", {in({2, 3, 4})}, [](X x) { return permute(x[0], {1, 2, 0}); }},
      {"narrow", {in({4, 5})}, [](X x) { return narrow(x[0], 1, 1, 3); }},
      {"select", {in({4, 5})}, [](X x) { return select(x[0], 0, -1); }},
      {"expand", {in({3, 1})}, [](X x) { return expand(x[0], {2, 3, 4}); }},
      {"squeeze", {in({3, 1, 2})}, [](X x) { return squeeze(x[0], 1); }},
      {"unsqueeze", {in({3, 2})}, [](X x) { return unsqueeze(x[0], -1); }},
      {"contiguous", {strided({3, 4})}, [](X x) { return contiguous(x[0]); }},
      {"sum_to", {in({2, 3, 4})}, [](X x) { return sum_to(x[0], {3, 1}); }},
      // joining
      {"cat", {in({2, 3}), strided({2, 2})}, [](X x) { return cat({x[0], x[1]}, 1); }},
      {"stack", {in({2, 3}), in({2, 3})}, [](X x) { return stack({x[0], x[1]}, 0); }},
      {"split", {in({5, 2})},
       [](X x) {
         std::vector<Tensor> p = split(x[0], std::vector<int64_t>{2, 3}, 0);
         return cat({mul(p[1], 2.0), p[0]}, 0);
       }},
      // indexing
      {"index_select", {in({3, 4})}, [idx](X x) { return index_select(x[0], 1, idx); }},
      {"embedding", {in({4, 3})}, [idx](X x) { return embedding(x[0], idx.view({2, 2})); }},
      {"embedding_padding", {in({4, 3})},
       [idx](X x) {
         // padding row 2 gets no gradient: masked so the function matches that rule
         return mul(embedding(x[0], idx, 2), from_vector<double>({0, 1, 0, 1}, {4, 1}));
       }},
      {"gather", {in({3, 4})}, [gather_idx](X x) { return gather(x[0], 1, gather_idx); }},
      // softmax and losses
      {"softmax", {in({3, 5})}, [](X x) { return softmax(x[0], 1); }},
      {"softmax_dim0", {strided({3, 5})}, [](X x) { return softmax(x[0], 0); }},
      {"log_softmax", {in({2, 3, 4})}, [](X x) { return log_softmax(x[0], -1); }},
      {"cross_entropy", {in({5, 4})}, [targets](X x) { return cross_entropy(x[0], targets); }},
      {"cross_entropy_smoothing_sum", {in({5, 4})},
       [targets](X x) { return cross_entropy(x[0], targets, ce(std::nullopt, 0.1, R::sum)); }},
      {"cross_entropy_ignore_none", {in({5, 4})},
       [targets_ignored](X x) { return cross_entropy(x[0], targets_ignored, ce(-100, 0.0, R::none)); }},
      {"cross_entropy_ignore_smoothing_mean", {in({5, 4})},
       [targets_ignored](X x) { return cross_entropy(x[0], targets_ignored, ce(-100, 0.2, R::mean)); }},
      // normalization
      {"layer_norm", {in({3, 2, 4}), in({2, 4}), in({2, 4})},
       [](X x) { return layer_norm(x[0], {2, 4}, x[1], x[2]); }},
      {"layer_norm_plain", {strided({4, 6})}, [](X x) { return layer_norm(x[0], {6}, Tensor(), Tensor()); }},
  };
}

}  // namespace

const std::vector<OpCase>& op_table() {
  static const std::vector<OpCase> table = build();
  return table;
}

}  // namespace qn::testing
