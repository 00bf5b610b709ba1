#include "tests/autograd/op_table.h"

#include <sstream>

#include "kernels/elementwise.h"
#include "tests/reference.h"

namespace qn::testing {
namespace {

using V = InputSpec::Values;
using X = const std::vector<Tensor>&;

InputSpec in(Shape shape, V values = V::normal) { return {shape, values, false}; }
InputSpec strided(Shape shape, V values = V::normal) { return {shape, values, true}; }

// A row's constant on the device of its inputs (tests/cuda/op_table_test.cpp runs the rows on a GPU).
Tensor on(const Tensor& constant, const Tensor& input) { return constant.to(input.device()); }

CrossEntropyOptions ce(std::optional<int64_t> ignore, double smoothing, CrossEntropyOptions::Reduction r) {
  CrossEntropyOptions o;
  o.ignore_index = ignore;
  o.label_smoothing = smoothing;
  o.reduction = r;
  return o;
}

std::vector<OpCase> build() {
  using R = CrossEntropyOptions::Reduction;
  const Tensor mask = from_vector<uint8_t>({1, 0, 0, 1, 1, 0, 1, 0}, {2, 4});
  const Tensor idx = from_vector<int64_t>({2, 0, 2, 1}, {4});
  const Tensor gidx = from_vector<int64_t>({0, 2, 1, 1, 2, 0}, {3, 2});
  const Tensor targets = from_vector<int64_t>({1, 0, 3, 2, 1}, {5});
  const Tensor ignored = from_vector<int64_t>({1, -100, 3, 2, -100}, {5});
  const Tensor rowmask = from_vector<float>({0, 1, 0, 1}, {4, 1});
  const Tensor running_mean = from_vector<float>({0.5f, -0.25f, 0.1f});
  const Tensor running_var = from_vector<float>({1.5f, 0.75f, 2.0f});
  const Tensor pad = from_vector<uint8_t>({0, 0, 0, 1, 1, 0, 0, 0, 0, 1}, {2, 1, 1, 5});
  // The mask dropout(p = 0.5) draws in f32 from Generator(5): PyTorch cannot draw Philox masks, so the
  // reference applies this one.
  Generator dropout_gen(5);
  const Tensor keep = kernels::compare(kernels::CompareOp::ge, rand({4, 6}, DType::f32, &dropout_gen), 0.5);
  // The same for attention's weights (N 2, H 2, L 4, S 4) with dropout 0.5 from Generator(7).
  Generator attention_gen(7);
  const Tensor attention_keep =
      kernels::compare(kernels::CompareOp::ge, rand({2, 2, 4, 4}, DType::f32, &attention_gen), 0.5);
  auto as = [](const Tensor& t, const Tensor& like) { return on(t, like).to(like.dtype()); };
  return {
      // arithmetic
      {"add", {in({3, 1, 4}), in({2, 1})}, [](X x) { return add(x[0], x[1]); }, "x0 + x1"},
      {"sub", {in({4}), strided({3, 4})}, [](X x) { return sub(x[0], x[1]); }, "x0 - x1"},
      {"mul", {strided({3, 4}), in({3, 1})}, [](X x) { return mul(x[0], x[1]); }, "x0 * x1"},
      {"mul_channel_scale", {in({2, 3, 4, 5}), in({2, 3, 1, 1})}, [](X x) { return mul(x[0], x[1]); }, "x0 * x1"},
      {"div", {in({3, 4}), in({4}, V::positive)}, [](X x) { return div(x[0], x[1]); }, "x0 / x1"},
      {"pow", {in({3, 4}, V::positive), in({4})}, [](X x) { return pow(x[0], x[1]); }, "torch.pow(x0, x1)"},
      {"add_scalar", {in({5})}, [](X x) { return add(x[0], 2.5); }, "x0 + 2.5"},
      {"mul_scalar", {strided({2, 3})}, [](X x) { return mul(x[0], -1.5); }, "x0 * -1.5"},
      {"pow_scalar", {in({6}, V::positive)}, [](X x) { return pow(x[0], 2.5); }, "x0 ** 2.5"},
      {"neg", {in({4})}, [](X x) { return neg(x[0]); }, "-x0"},
      {"exp", {strided({3, 3})}, [](X x) { return exp(x[0]); }, "torch.exp(x0)"},
      {"log", {in({6}, V::positive)}, [](X x) { return log(x[0]); }, "torch.log(x0)"},
      {"sqrt", {in({6}, V::positive)}, [](X x) { return sqrt(x[0]); }, "torch.sqrt(x0)"},
      {"rsqrt", {in({6}, V::positive)}, [](X x) { return rsqrt(x[0]); }, "torch.rsqrt(x0)"},
      {"abs", {in({6}, V::away_from_zero)}, [](X x) { return abs(x[0]); }, "torch.abs(x0)"},
      {"clamp", {in({3, 4})}, [](X x) { return clamp(x[0], -0.7, 0.6); }, "torch.clamp(x0, -0.7, 0.6)"},
      {"clamp_lower", {in({8})}, [](X x) { return clamp(x[0], 0.1, std::nullopt); }, "torch.clamp(x0, min=0.1)"},
      {"where",
       {in({2, 4}), in({4})},
       [mask](X x) { return where(on(mask, x[0]), x[0], x[1]); },
       "torch.where(mask.bool(), x0, x1)",
       {{"mask", mask}}},
      {"masked_fill",
       {strided({2, 4})},
       [mask](X x) { return masked_fill(x[0], on(mask, x[0]), -3.0); },
       "x0.masked_fill(mask.bool(), -3.0)",
       {{"mask", mask}}},
      // casts: through f64 and back (gradcheck's f64 inputs take the identity path, f32 ones both casts)
      {"to_dtype",
       {strided({3, 4})},
       [](X x) { return to_dtype(mul(to_dtype(x[0], DType::f64), 3.0), x[0].dtype()); },
       "(x0.double() * 3).to(x0.dtype)"},
      // activations
      {"relu", {in({3, 5}, V::away_from_zero)}, [](X x) { return relu(x[0]); }, "torch.relu(x0)"},
      {"gelu", {in({3, 5})}, [](X x) { return gelu(x[0]); }, "F.gelu(x0)"},
      {"gelu_tanh", {strided({3, 5})}, [](X x) { return gelu_tanh(x[0]); }, "F.gelu(x0, approximate='tanh')"},
      {"silu", {in({3, 5})}, [](X x) { return silu(x[0]); }, "F.silu(x0)"},
      {"sigmoid", {in({3, 5})}, [](X x) { return sigmoid(x[0]); }, "torch.sigmoid(x0)"},
      {"tanh", {in({3, 5})}, [](X x) { return tanh(x[0]); }, "torch.tanh(x0)"},
      // matrix products
      {"matmul", {in({3, 4}), in({4, 5})}, [](X x) { return matmul(x[0], x[1]); }, "x0 @ x1"},
      {"matmul_transposed", {strided({3, 4}), strided({4, 2})}, [](X x) { return matmul(x[0], x[1]); }, "x0 @ x1"},
      {"matmul_batch_broadcast", {in({2, 1, 3, 4}), in({3, 4, 2})}, [](X x) { return matmul(x[0], x[1]); }, "x0 @ x1"},
      {"matmul_shared_rhs", {in({2, 3, 4}), in({4, 5})}, [](X x) { return matmul(x[0], x[1]); }, "x0 @ x1"},
      {"linear",
       {in({2, 3, 4}), in({5, 4}), in({5})},
       [](X x) { return linear(x[0], x[1], x[2]); },
       "F.linear(x0, x1, x2)"},
      {"linear_strided_no_bias",
       {strided({3, 4}), strided({5, 4})},
       [](X x) { return linear(x[0], x[1], Tensor()); },
       "F.linear(x0, x1)"},
      {"linear_vector",
       {in({4}), in({5, 4}), in({5})},
       [](X x) { return linear(x[0], x[1], x[2]); },
       "F.linear(x0, x1, x2)"},
      {"matmul_vector_matrix", {in({4}), in({4, 3})}, [](X x) { return matmul(x[0], x[1]); }, "x0 @ x1"},
      {"matmul_matrix_vector", {in({3, 4}), in({4})}, [](X x) { return matmul(x[0], x[1]); }, "x0 @ x1"},
      {"matmul_dot", {in({5}), in({5})}, [](X x) { return matmul(x[0], x[1]); }, "x0 @ x1"},
      {"bmm", {in({2, 3, 4}), strided({2, 4, 3})}, [](X x) { return bmm(x[0], x[1]); }, "torch.bmm(x0, x1)"},
      // reductions
      {"sum_all", {strided({3, 4})}, [](X x) { return sum(x[0]); }, "x0.sum()"},
      {"sum_dims",
       {in({2, 3, 4})},
       [](X x) {
         return sum(x[0], {0, 2});
       },
       "x0.sum((0, 2))"},
      {"sum_keepdim", {in({2, 3, 4})}, [](X x) { return sum(x[0], {-1}, true); }, "x0.sum(-1, keepdim=True)"},
      {"mean", {in({2, 3, 4})}, [](X x) { return mean(x[0], {1}); }, "x0.mean(1)"},
      {"amax", {in({3, 5})}, [](X x) { return amax(x[0], {1}); }, "x0.amax(1)"},
      {"amin", {strided({3, 5})}, [](X x) { return amin(x[0], {0}, true); }, "x0.amin(0, keepdim=True)"},
      {"var", {in({3, 6})}, [](X x) { return var(x[0], {1}); }, "x0.var(1)"},
      {"var_all_biased", {in({4, 3})}, [](X x) { return var(x[0], {}, 0); }, "x0.var(unbiased=False)"},
      // views
      {"reshape",
       {strided({3, 4})},
       [](X x) {
         return reshape(x[0], {2, 6});
       },
       "x0.reshape(2, 6)"},
      {"view",
       {in({3, 4})},
       [](X x) {
         return view(x[0], {4, -1});
       },
       "x0.view(4, -1)"},
      {"flatten", {in({2, 3, 2})}, [](X x) { return flatten(x[0], 1); }, "x0.flatten(1)"},
      {"transpose", {in({2, 3, 4})}, [](X x) { return transpose(x[0], 0, 2); }, "x0.transpose(0, 2)"},
      {"permute",
       {in({2, 3, 4})},
       [](X x) {
         return permute(x[0], {1, 2, 0});
       },
       "x0.permute(1, 2, 0)"},
      {"narrow", {in({4, 5})}, [](X x) { return narrow(x[0], 1, 1, 3); }, "x0.narrow(1, 1, 3)"},
      {"select", {in({4, 5})}, [](X x) { return select(x[0], 0, -1); }, "x0.select(0, -1)"},
      {"expand",
       {in({3, 1})},
       [](X x) {
         return expand(x[0], {2, 3, 4});
       },
       "x0.expand(2, 3, 4)"},
      {"squeeze", {in({3, 1, 2})}, [](X x) { return squeeze(x[0], 1); }, "x0.squeeze(1)"},
      {"unsqueeze", {in({3, 2})}, [](X x) { return unsqueeze(x[0], -1); }, "x0.unsqueeze(-1)"},
      {"contiguous", {strided({3, 4})}, [](X x) { return contiguous(x[0]); }, "x0.contiguous()"},
      {"sum_to",
       {in({2, 3, 4})},
       [](X x) {
         return sum_to(x[0], {3, 1});
       },
       "x0.sum(0).sum(1, keepdim=True)"},
      // joining
      {"cat",
       {in({2, 3}), strided({2, 2})},
       [](X x) {
         return cat({x[0], x[1]}, 1);
       },
       "torch.cat([x0, x1], 1)"},
      {"stack",
       {in({2, 3}), in({2, 3})},
       [](X x) {
         return stack({x[0], x[1]}, 0);
       },
       "torch.stack([x0, x1], 0)"},
      {"split",
       {in({5, 2})},
       [](X x) {
         std::vector<Tensor> p = split(x[0], std::vector<int64_t>{2, 3}, 0);
         return cat({mul(p[1], 2.0), p[0]}, 0);
       },
       "torch.cat([x0[2:5] * 2.0, x0[0:2]], 0)"},
      // indexing
      {"index_select",
       {in({3, 4})},
       [idx](X x) { return index_select(x[0], 1, on(idx, x[0])); },
       "torch.index_select(x0, 1, idx)",
       {{"idx", idx}}},
      {"embedding",
       {in({4, 3})},
       [idx](X x) {
         return embedding(x[0], on(idx, x[0]).view({2, 2}));
       },
       "F.embedding(idx.view(2, 2), x0)",
       {{"idx", idx}}},
      // The padding row gets no gradient; the rows gathered from it are masked out so the function is
      // differentiable everywhere it is evaluated.
      {"embedding_padding",
       {in({4, 3})},
       [idx, rowmask](X x) { return mul(embedding(x[0], on(idx, x[0]), 2), on(rowmask, x[0]).to(x[0].dtype())); },
       "F.embedding(idx, x0, padding_idx=2) * rowmask",
       {{"idx", idx}, {"rowmask", rowmask}}},
      {"gather",
       {in({3, 4})},
       [gidx](X x) { return gather(x[0], 1, on(gidx, x[0])); },
       "torch.gather(x0, 1, gidx)",
       {{"gidx", gidx}}},
      // softmax and losses
      {"softmax", {in({3, 5})}, [](X x) { return softmax(x[0], 1); }, "torch.softmax(x0, 1)"},
      {"softmax_dim0", {strided({3, 5})}, [](X x) { return softmax(x[0], 0); }, "torch.softmax(x0, 0)"},
      {"log_softmax", {in({2, 3, 4})}, [](X x) { return log_softmax(x[0], -1); }, "torch.log_softmax(x0, -1)"},
      {"cross_entropy",
       {in({5, 4})},
       [targets](X x) { return cross_entropy(x[0], on(targets, x[0])); },
       "F.cross_entropy(x0, targets)",
       {{"targets", targets}}},
      {"cross_entropy_smoothing_sum",
       {in({5, 4})},
       [targets](X x) { return cross_entropy(x[0], on(targets, x[0]), ce(std::nullopt, 0.1, R::sum)); },
       "F.cross_entropy(x0, targets, label_smoothing=0.1, reduction='sum')",
       {{"targets", targets}}},
      {"cross_entropy_ignore_none",
       {in({5, 4})},
       [ignored](X x) { return cross_entropy(x[0], on(ignored, x[0]), ce(-100, 0.0, R::none)); },
       "F.cross_entropy(x0, targets, ignore_index=-100, reduction='none')",
       {{"targets", ignored}}},
      {"cross_entropy_ignore_smoothing_mean",
       {in({5, 4})},
       [ignored](X x) { return cross_entropy(x[0], on(ignored, x[0]), ce(-100, 0.2, R::mean)); },
       "F.cross_entropy(x0, targets, ignore_index=-100, label_smoothing=0.2)",
       {{"targets", ignored}}},
      {"nll_loss",
       {in({5, 4})},
       [targets](X x) { return nll_loss(log_softmax(x[0], 1), on(targets, x[0])); },
       "F.nll_loss(torch.log_softmax(x0, 1), targets)",
       {{"targets", targets}}},
      {"nll_loss_ignore_sum",
       {in({5, 4})},
       [ignored](X x) { return nll_loss(log_softmax(x[0], 1), on(ignored, x[0]), -100, Reduction::sum); },
       "F.nll_loss(torch.log_softmax(x0, 1), targets, ignore_index=-100, reduction='sum')",
       {{"targets", ignored}}},
      {"nll_loss_ignore_mean",
       {in({5, 4})},
       [ignored](X x) { return nll_loss(log_softmax(x[0], 1), on(ignored, x[0]), -100); },
       "F.nll_loss(torch.log_softmax(x0, 1), targets, ignore_index=-100)",
       {{"targets", ignored}}},
      {"mse_loss", {in({3, 4}), strided({3, 4})}, [](X x) { return mse_loss(x[0], x[1]); }, "F.mse_loss(x0, x1)"},
      {"mse_loss_none",
       {in({3, 4}), in({4})},
       [](X x) { return mse_loss(x[0], x[1], Reduction::none); },
       "F.mse_loss(x0, x1.expand(3, 4), reduction='none')"},
      {"kl_div_batchmean",
       {in({3, 5}), in({3, 5})},
       [](X x) { return kl_div(log_softmax(x[0], 1), softmax(x[1], 1)); },
       "F.kl_div(torch.log_softmax(x0, 1), torch.softmax(x1, 1), reduction='batchmean')"},
      {"kl_div_sum",
       {in({2, 4}), in({2, 4})},
       [](X x) { return kl_div(log_softmax(x[0], 1), softmax(x[1], 1), KlReduction::sum); },
       "F.kl_div(torch.log_softmax(x0, 1), torch.softmax(x1, 1), reduction='sum')"},
      // normalization
      {"layer_norm",
       {in({3, 2, 4}), in({2, 4}), in({2, 4})},
       [](X x) {
         return layer_norm(x[0], {2, 4}, x[1], x[2]);
       },
       "F.layer_norm(x0, (2, 4), x1, x2)"},
      {"layer_norm_plain",
       {strided({4, 6})},
       [](X x) { return layer_norm(x[0], {6}, Tensor(), Tensor()); },
       "F.layer_norm(x0, (6,))"},
      {"batch_norm_train",
       {in({4, 3, 2, 2}), in({3}), in({3})},
       [](X x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true); },
       "F.batch_norm(x0, None, None, x1, x2, training=True)"},
      {"batch_norm_train_large_planes",  // planes of 72 pixels: summed plane by plane, not by columns
       {in({2, 3, 8, 9}), in({3}), in({3})},
       [](X x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true); },
       "F.batch_norm(x0, None, None, x1, x2, training=True)"},
      {"batch_norm_train_2d",
       {strided({5, 3})},
       [](X x) { return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
       "F.batch_norm(x0, None, None, training=True)"},
      {"batch_norm_eval",
       {in({2, 3, 2, 2}), in({3}), in({3})},
       [running_mean, running_var, as](X x) {
         return batch_norm(x[0], as(running_mean, x[0]), as(running_var, x[0]), x[1], x[2], false);
       },
       "F.batch_norm(x0, rm, rv, x1, x2, training=False)",
       {{"rm", running_mean}, {"rv", running_var}}},
      {"batch_norm_silu_train",  // BatchNorm and SiLU in one op (EfficientNet's)
       {in({4, 3, 2, 2}), in({3}), in({3})},
       [](X x) {
         return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5, {}, kernels::NormActivation::silu);
       },
       "F.silu(F.batch_norm(x0, None, None, x1, x2, training=True))"},
      {"batch_norm_silu_train_large_planes",
       {in({2, 3, 8, 9}), in({3}), in({3})},
       [](X x) {
         return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5, {}, kernels::NormActivation::silu);
       },
       "F.silu(F.batch_norm(x0, None, None, x1, x2, training=True))"},
      {"batch_norm_silu_train_unaffine",
       {in({3, 2, 3, 1})},
       [](X x) {
         return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, {},
                           kernels::NormActivation::silu);
       },
       "F.silu(F.batch_norm(x0, None, None, training=True))"},
      {"batch_norm_silu_train_2d",
       {in({6, 3}), in({3}), in({3})},
       [](X x) {
         return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5, {}, kernels::NormActivation::silu);
       },
       "F.silu(F.batch_norm(x0, None, None, x1, x2, training=True))"},
      {"batch_norm_silu_eval_large_planes",
       {in({2, 3, 8, 9}), in({3}), in({3})},
       [running_mean, running_var, as](X x) {
         return batch_norm(x[0], as(running_mean, x[0]), as(running_var, x[0]), x[1], x[2], false, 0.1, 1e-5, {},
                           kernels::NormActivation::silu);
       },
       "F.silu(F.batch_norm(x0, rm, rv, x1, x2, training=False))",
       {{"rm", running_mean}, {"rv", running_var}}},
      {"batch_norm_silu_eval",
       {in({2, 3, 2, 2}), in({3}), in({3})},
       [running_mean, running_var, as](X x) {
         return batch_norm(x[0], as(running_mean, x[0]), as(running_var, x[0]), x[1], x[2], false, 0.1, 1e-5, {},
                           kernels::NormActivation::silu);
       },
       "F.silu(F.batch_norm(x0, rm, rv, x1, x2, training=False))",
       {{"rm", running_mean}, {"rv", running_var}}},
      // convolution and pooling
      {"conv2d",
       {in({2, 3, 6, 5}), in({4, 3, 3, 3}), in({4})},
       [](X x) { return conv2d(x[0], x[1], x[2], Conv2dParams{}.with_padding(1)); },
       "F.conv2d(x0, x1, x2, padding=1)"},
      {"conv2d_groups_stride_asymmetric",
       {in({1, 4, 7, 7}), in({6, 2, 3, 3})},
       [](X x) {
         return conv2d(x[0], x[1], Tensor(), Conv2dParams{}.with_groups(2).with_stride(2).with_padding(1, 2, 0, 1));
       },
       "F.conv2d(F.pad(x0, (0, 1, 1, 2)), x1, None, stride=2, groups=2)"},
      {"conv2d_dilated",
       {strided({1, 2, 7, 7}), in({3, 2, 3, 3})},
       [](X x) { return conv2d(x[0], x[1], Tensor(), Conv2dParams{}.with_dilation(2).with_padding(2)); },
       "F.conv2d(x0, x1, dilation=2, padding=2)"},
      {"conv2d_pointwise",
       {in({2, 4, 3, 3}), in({5, 4, 1, 1}), in({5})},
       [](X x) { return conv2d(x[0], x[1], x[2]); },
       "F.conv2d(x0, x1, x2)"},
      {"conv2d_pointwise_2x2",  // small planes run as one GEMM over the batch, through channel-major copies
       {in({3, 4, 2, 2}), in({5, 4, 1, 1}), in({5})},
       [](X x) { return conv2d(x[0], x[1], x[2]); },
       "F.conv2d(x0, x1, x2)"},
      {"conv2d_pointwise_1x1",  // one pixel: the batch is the GEMM's rows, no copies
       {in({3, 4, 1, 1}), in({5, 4, 1, 1}), in({5})},
       [](X x) { return conv2d(x[0], x[1], x[2]); },
       "F.conv2d(x0, x1, x2)"},
      {"conv2d_depthwise",
       {in({2, 3, 5, 5}), in({3, 1, 3, 3}), in({3})},
       [](X x) { return conv2d(x[0], x[1], x[2], Conv2dParams{}.with_groups(3).with_stride(2).with_padding(1)); },
       "F.conv2d(x0, x1, x2, stride=2, padding=1, groups=3)"},
      {"conv2d_depthwise_multiplier",
       {in({1, 2, 5, 5}), in({4, 1, 3, 3})},
       [](X x) { return conv2d(x[0], x[1], Tensor(), Conv2dParams{}.with_groups(2)); },
       "F.conv2d(x0, x1, groups=2)"},
      {"conv2d_depthwise_dilated_asymmetric",
       {strided({2, 3, 7, 6}), in({6, 1, 3, 2})},
       [](X x) {
         return conv2d(x[0], x[1], Tensor(),
                       Conv2dParams{}.with_groups(3).with_stride(2).with_dilation(2).with_padding(1, 2, 0, 1));
       },
       "F.conv2d(F.pad(x0, (0, 1, 1, 2)), x1, stride=2, dilation=2, groups=3)"},
      {"conv2d_depthwise_kernel_over_plane",  // a 5x5 kernel on 2x2 planes, as in a network's last stages
       {in({3, 4, 2, 2}), in({4, 1, 5, 5}), in({4})},
       [](X x) { return conv2d(x[0], x[1], x[2], Conv2dParams{}.with_groups(4).with_padding(2)); },
       "F.conv2d(x0, x1, x2, padding=2, groups=4)"},
      {"max_pool2d",
       {in({2, 2, 6, 7})},
       [](X x) { return max_pool2d(x[0], Pool2dParams::square(3, 2, 1)); },
       "F.max_pool2d(x0, 3, 2, 1)"},
      {"avg_pool2d",
       {in({2, 2, 6, 7})},
       [](X x) { return avg_pool2d(x[0], Pool2dParams::square(3, 2, 1)); },
       "F.avg_pool2d(x0, 3, 2, 1)"},
      {"avg_pool2d_exclude_pad",
       {in({1, 2, 5, 6})},
       [](X x) {
         Pool2dParams p = Pool2dParams::square(3, 2, 1);
         p.count_include_pad = false;
         return avg_pool2d(x[0], p);
       },
       "F.avg_pool2d(x0, 3, 2, 1, count_include_pad=False)"},
      {"adaptive_avg_pool2d",
       {strided({2, 3, 7, 5})},
       [](X x) { return adaptive_avg_pool2d(x[0], 3, 2); },
       "F.adaptive_avg_pool2d(x0, (3, 2))"},
      // regularization
      {"dropout",
       {in({4, 6})},
       [](X x) {
         Generator gen(5);
         return dropout(x[0], 0.5, true, &gen);
       },
       "torch.where(keep.bool(), x0 * 2.0, torch.zeros(()))",
       {{"keep", keep}}},
      // attention
      {"attention",
       {in({2, 3, 4}), in({2, 5, 4}), in({2, 5, 3})},
       [](X x) { return scaled_dot_product_attention(x[0], x[1], x[2]); },
       "torch.softmax(x0 @ x1.transpose(-2, -1) * 0.5, -1) @ x2"},
      {"attention_causal",
       {in({1, 2, 4, 3}), in({1, 2, 4, 3}), in({1, 2, 4, 3})},
       [](X x) {
         AttentionOptions o;
         o.causal = true;
         return scaled_dot_product_attention(x[0], x[1], x[2], o);
       },
       "torch.softmax((x0 @ x1.transpose(-2, -1) * 3 ** -0.5).masked_fill(torch.ones(4, 4).triu(1).bool(), "
       "float('-inf')), -1) @ x2"},
      {"attention_key_padding",
       {in({2, 2, 3, 4}), in({2, 2, 5, 4}), strided({2, 2, 5, 4})},
       [pad](X x) {
         AttentionOptions o;
         o.masked_out = on(pad, x[0]);
         return scaled_dot_product_attention(x[0], x[1], x[2], o);
       },
       "torch.softmax((x0 @ x1.transpose(-2, -1) * 0.5).masked_fill(pad.bool(), float('-inf')), -1) @ x2",
       {{"pad", pad}}},
      {"attention_dropout_causal",
       {in({2, 2, 4, 3}), in({2, 2, 4, 3}), in({2, 2, 4, 5})},
       [](X x) {
         Generator gen(7);
         AttentionOptions o;
         o.causal = true;
         o.dropout = 0.5;
         o.training = true;
         o.gen = &gen;
         return scaled_dot_product_attention(x[0], x[1], x[2], o);
       },
       "torch.where(keep.bool(), torch.softmax((x0 @ x1.transpose(-2, -1) * 3 ** -0.5).masked_fill("
       "torch.ones(4, 4).triu(1).bool(), float('-inf')), -1) * 2.0, torch.zeros(())) @ x2",
       {{"keep", attention_keep}}},
  };
}

}  // namespace

// The rows checked in bf16 as well: those whose ops take 16-bit floats (kernels/half_precision.h). Not BatchNorm
// (its running statistics share the input's dtype), nor mse_loss, which PyTorch 1.13 has no bf16 form of on the CPU.
const std::set<std::string>& bf16_rows() {
  static const std::set<std::string> rows = [] {
    std::istringstream names(
        "add sub mul div pow add_scalar mul_scalar pow_scalar neg exp log sqrt rsqrt abs clamp clamp_lower where "
        "masked_fill to_dtype relu gelu gelu_tanh silu sigmoid tanh matmul matmul_transposed matmul_batch_broadcast "
        "matmul_shared_rhs linear matmul_vector_matrix matmul_matrix_vector matmul_dot bmm sum_all sum_dims "
        "sum_keepdim mean "
        "amax amin var var_all_biased reshape view flatten transpose permute narrow select expand squeeze unsqueeze "
        "contiguous sum_to cat stack split dropout conv2d conv2d_groups_stride_asymmetric conv2d_dilated "
        "conv2d_pointwise "
        "conv2d_pointwise_2x2 conv2d_pointwise_1x1 conv2d_depthwise conv2d_depthwise_multiplier "
        "conv2d_depthwise_dilated_asymmetric conv2d_depthwise_kernel_over_plane index_select embedding "
        "embedding_padding gather softmax softmax_dim0 log_softmax cross_entropy cross_entropy_smoothing_sum "
        "cross_entropy_ignore_none cross_entropy_ignore_smoothing_mean nll_loss nll_loss_ignore_sum "
        "nll_loss_ignore_mean kl_div_batchmean kl_div_sum layer_norm layer_norm_plain max_pool2d avg_pool2d "
        "avg_pool2d_exclude_pad adaptive_avg_pool2d attention attention_causal attention_key_padding");
    std::set<std::string> out;
    for (std::string name; names >> name;) out.insert(name);
    return out;
  }();
  return rows;
}

const std::vector<OpCase>& op_table() {
  static const std::vector<OpCase> table = build();
  return table;
}

Tensor draw_input(const InputSpec& spec, DType dtype, uint64_t seed) {
  Tensor t = spec.strided ? random_strided(spec.shape, dtype, seed) : random(spec.shape, dtype, seed);
  switch (spec.values) {
    case InputSpec::Values::normal:
      break;
    case InputSpec::Values::positive:  // |x| + 0.5
      t = kernels::binary(kernels::BinaryOp::add, kernels::abs(t), 0.5);
      break;
    case InputSpec::Values::away_from_zero:  // x + 0.5 sign(x)
      t = kernels::add(
          t, kernels::binary(kernels::BinaryOp::sub, kernels::compare(kernels::CompareOp::gt, t, 0.0).to(dtype), 0.5));
      break;
  }
  if (spec.strided && t.is_contiguous() && t.numel() > 1) {  // keep the layout the row asked for
    Tensor wide = empty(t.shape(), dtype).transpose(0, t.dim() - 1).contiguous().transpose(0, t.dim() - 1);
    t = wide.copy_(t);
  }
  t.set_requires_grad(true);
  return t;
}

}  // namespace qn::testing
