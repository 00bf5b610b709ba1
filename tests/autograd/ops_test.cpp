// What the op table cannot show: dropout's mask statistics and reproducibility, casts to 16-bit floats,
// batch_norm's running statistics, and argument errors.
#include "autograd/ops.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

TEST(Dropout, DropsAboutPAndReplaysFromTheSeed) {
  const Tensor x = ones({200000});
  Generator a(11), b(11);
  const Tensor y = dropout(x, 0.3, true, &a);
  const Tensor z = dropout(x, 0.3, true, &b);
  int64_t dropped = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = at(y, {i});
    ASSERT_TRUE(v == 0.0 || std::abs(v - 1 / 0.7) < 1e-6) << v;
    dropped += v == 0.0;
    ASSERT_EQ(v, at(z, {i}));
  }
  const double n = static_cast<double>(x.numel());
  EXPECT_NEAR(dropped / n, 0.3, 5 * std::sqrt(0.3 * 0.7 / n));
  EXPECT_TRUE(dropout(x, 0.3, false).is_same(x));  // eval: identity
  EXPECT_EQ(at(dropout(x, 1.0, true), {5}), 0.0);
  EXPECT_QN_ERROR(dropout(x, 1.5, true), "dropout", "[0, 1]");
}

// The value is used as is; the gradient goes to the input unchanged, or masked by pass.
TEST(StraightThrough, ForwardIsTheValueBackwardPassesTheGradient) {
  const Tensor x = from_vector<double>({1, 2, 3}).set_requires_grad(true);
  const Tensor value = from_vector<double>({0, 2.5, -1});
  const Tensor y = straight_through(x, value);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(at(y, {i}), at(value, {i}));
  sum(mul(y, from_vector<double>({4, 5, 6}))).backward();
  EXPECT_EQ(at(x.grad(), {0}), 4.0);  // not 0, though the value ignores x
  EXPECT_EQ(at(x.grad(), {2}), 6.0);

  const Tensor w = from_vector<double>({1, 2, 3}).set_requires_grad(true);
  sum(straight_through(w, value, from_vector<uint8_t>({1, 0, 1}))).backward();
  EXPECT_EQ(at(w.grad(), {0}), 1.0);
  EXPECT_EQ(at(w.grad(), {1}), 0.0);
  EXPECT_QN_ERROR(straight_through(x, ones({2}, DType::f64)), "straight_through", "shape");
}

// bf16 keeps 7 mantissa bits, rounding to nearest even (worked by hand): 1 + 2^-9 -> 1; 1 + 1.5 x 2^-7, a tie,
// -> 1 + 2^-6; 1/3 = 1.0101010|101... x 2^-2 -> 1.0101011 x 2^-2 = 0.333984375. The gradient comes back through
// the same rounding, in the input's dtype.
TEST(ToDtype, RoundsToTheNewDtypeAndSendsTheGradientBackInTheOld) {
  const Tensor x = from_vector<float>({1.0f + 0x1p-9f, 1.0f + 1.5f * 0x1p-7f, 1.0f / 3.0f}).set_requires_grad(true);
  const Tensor rounded = to_dtype(to_dtype(x, DType::bf16), DType::f32);
  EXPECT_EQ(at(rounded, {0}), 1.0);
  EXPECT_EQ(at(rounded, {1}), 1.0 + 0x1p-6);
  EXPECT_EQ(at(rounded, {2}), 0.333984375);
  sum(mul(rounded, from_vector<float>({0.5f, -3.0f, 1.0f + 0x1p-9f}))).backward();
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  EXPECT_EQ(at(x.grad(), {0}), 0.5);
  EXPECT_EQ(at(x.grad(), {1}), -3.0);
  EXPECT_EQ(at(x.grad(), {2}), 1.0);  // the gradient was bf16 on its way back

  const Tensor wide = from_vector<double>({0.1, 0.2}).set_requires_grad(true);
  sum(mul(to_dtype(wide, DType::f32), 2.0)).backward();
  EXPECT_EQ(wide.grad().dtype(), DType::f64);
  EXPECT_EQ(at(wide.grad(), {1}), 2.0);
  EXPECT_TRUE(to_dtype(wide, DType::f64).is_same(wide));  // no cast, no node
  EXPECT_QN_ERROR(to_dtype(from_vector<int64_t>({1}), DType::f32), "to_dtype", "floating");
}

TEST(BatchNorm, UpdatesRunningStatisticsLikePyTorch) {
  // running = (1 - momentum) running + momentum batch, the variance unbiased (n / (n - 1)). The shapes take
  // each summation order of the kernels: small planes by columns (one block of rows, and several with 2D
  // input of 130 rows) and large planes one by one.
  for (const Shape& shape : {Shape{4, 2, 3, 3}, Shape{130, 3}, Shape{3, 2, 9, 9}}) {
    const Tensor x = testing::random(shape, DType::f64);
    SCOPED_TRACE(x.describe());
    const int64_t channels = shape[1];
    const int64_t plane = shape.size() == 4 ? shape[2] * shape[3] : 1;
    const int64_t n = shape[0] * plane;
    Tensor running_mean = zeros({channels}, DType::f64);
    Tensor running_var = ones({channels}, DType::f64);
    batch_norm(x, running_mean, running_var, Tensor(), Tensor(), true, 0.1, 1e-5);
    const double* data = x.contiguous().data_ptr<double>();
    for (int64_t c = 0; c < channels; ++c) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < shape[0]; ++i) {
        for (int64_t k = 0; k < plane; ++k) s += data[(i * channels + c) * plane + k];
      }
      const double mean = s / static_cast<double>(n);
      for (int64_t i = 0; i < shape[0]; ++i) {
        for (int64_t k = 0; k < plane; ++k) ss += std::pow(data[(i * channels + c) * plane + k] - mean, 2);
      }
      EXPECT_NEAR(at(running_mean, {c}), 0.1 * mean, 1e-12);
      EXPECT_NEAR(at(running_var, {c}), 0.9 + 0.1 * ss / static_cast<double>(n - 1), 1e-12);
    }
  }
  const Tensor x = testing::random({4, 2, 3, 3}, DType::f64);
  EXPECT_QN_ERROR(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false), "batch_norm", "running_mean");
  EXPECT_QN_ERROR(batch_norm(ones({1, 2}, DType::f64), Tensor(), Tensor(), Tensor(), Tensor(), true), "batch_norm",
                  "more than one value");
}

// Synchronized over a twin process holding the same batch (the sums over processes are twice this one's),
// BatchNorm computes what it computes on the two batches joined: the same output, running statistics (the
// variance unbiased over both) and input gradient; the weight and bias gradients stay this process's own (half
// the joint ones). Forward adds over processes twice (sums, then squares around the mean), backward once. The
// same with SiLU fused after the normalization.
TEST(BatchNorm, SynchronizedTwinsComputeWhatTheirJointBatchComputes) {
  for (const auto& run_case :
       std::vector<std::pair<Shape, kernels::NormActivation>>{{{4, 2, 3, 3}, kernels::NormActivation::none},
                                                              {{65, 3}, kernels::NormActivation::none},
                                                              {{3, 2, 9, 9}, kernels::NormActivation::none},
                                                              {{4, 2, 3, 3}, kernels::NormActivation::silu},
                                                              {{3, 2, 9, 9}, kernels::NormActivation::silu}}) {
    const Shape& shape = run_case.first;
    const kernels::NormActivation activation = run_case.second;  // a copy: clang 14 cannot capture bindings
    const Tensor x = testing::random(shape, DType::f64, 2);
    const Tensor g = testing::random(shape, DType::f64, 3);
    SCOPED_TRACE(x.describe() + (activation == kernels::NormActivation::silu ? " with SiLU" : ""));
    const int64_t channels = shape[1];
    int calls = 0;
    const kernels::SumOverProcesses twin = [&calls](std::vector<double>& values) {
      ++calls;
      for (double& v : values) v *= 2;
    };
    struct Run {
      Tensor out, dx, dw, db, running_mean, running_var;
    };
    const auto run = [&](const Tensor& input, const Tensor& upstream, const kernels::SumOverProcesses& sync) {
      Run r{Tensor(), Tensor(), Tensor(), Tensor(), zeros({channels}, DType::f64), ones({channels}, DType::f64)};
      const Tensor leaf = input.detach().set_requires_grad(true);
      const Tensor w = testing::random({channels}, DType::f64, 4).set_requires_grad(true);
      const Tensor b = testing::random({channels}, DType::f64, 5).set_requires_grad(true);
      r.out = batch_norm(leaf, r.running_mean, r.running_var, w, b, true, 0.1, 1e-5, sync, activation);
      qn::sum(mul(r.out, upstream)).backward();
      r.dx = leaf.grad();
      r.dw = w.grad();
      r.db = b.grad();
      return r;
    };
    const Run alone = run(x, g, twin);
    EXPECT_EQ(calls, 3);
    const Run joint = run(cat({x, x}, 0), cat({g, g}, 0), {});
    const auto expect_near = [](const Tensor& got, const Tensor& want, double factor) {
      for (const auto& index : testing::all_indices(got.shape())) {
        ASSERT_NEAR(factor * at(got, index), at(want, index), 1e-10 * (1 + std::abs(at(want, index))));
      }
    };
    expect_near(alone.out, narrow(joint.out, 0, 0, shape[0]), 1);
    expect_near(alone.dx, narrow(joint.dx, 0, 0, shape[0]), 1);
    expect_near(alone.running_mean, joint.running_mean, 1);
    expect_near(alone.running_var, joint.running_var, 1);
    expect_near(alone.dw, joint.dw, 2);
    expect_near(alone.db, joint.db, 2);
  }
}

// The GPU's synchronized BatchNorm (kernels::synchronized_batch_norm_*, made of device kernels, with the sums
// crossing to the host) run here on CPU tensors against the CPU kernel, both synchronized over a twin: the same
// moments, input gradient and (this process's) parameter gradients, training and eval.
TEST(BatchNorm, TheGpusSynchronizedFormComputesWhatTheCpuKernelDoes) {
  for (const Shape& shape : {Shape{4, 2, 3, 3}, Shape{65, 3}}) {
    SCOPED_TRACE(testing::random(shape).describe());
    const Tensor x = testing::random(shape, DType::f64, 2), g = testing::random(shape, DType::f64, 3);
    const Tensor w = testing::random({shape[1]}, DType::f64, 4);
    int calls = 0;
    const kernels::SumOverProcesses twin = [&calls](std::vector<double>& values) {
      ++calls;
      for (double& v : values) v *= 2;
    };
    const kernels::BatchNormMoments want = kernels::batch_norm_moments(x, twin);
    const kernels::BatchNormMoments got = kernels::synchronized_batch_norm_moments(x, twin);
    EXPECT_EQ(calls, 4);  // two adds each
    EXPECT_EQ(got.count, want.count);
    const auto expect_near = [](const Tensor& a, const Tensor& b) {
      ASSERT_EQ(a.shape(), b.shape());
      for (const auto& i : testing::all_indices(a.shape())) {
        ASSERT_NEAR(at(a, i), at(b, i), 1e-11 * (1 + std::abs(at(b, i))));
      }
    };
    expect_near(got.mean, want.mean);
    expect_near(got.var, want.var);
    const Tensor rstd = kernels::rsqrt(kernels::binary(kernels::BinaryOp::add, want.var, 1e-5));
    for (const bool training : {true, false}) {
      SCOPED_TRACE(training ? "training" : "eval");
      const kernels::BatchNormGrads a =
          kernels::batch_norm_backward(g, x, want.mean, rstd, w, training, true, true, twin);
      const kernels::BatchNormGrads b =
          kernels::synchronized_batch_norm_backward(g, x, want.mean, rstd, w, training, true, true, twin);
      expect_near(b.dx, a.dx);
      expect_near(b.dweight, a.dweight);
      expect_near(b.dbias, a.dbias);
    }
  }
}

// The fused CPU kernel (kernels/attention.h) against the same attention composed of recorded ops (products, scale,
// masked_fill, softmax, the same dropout mask through where), on the layout MultiheadAttention gives it: heads split
// out of (N, T, H * E) rows, row stride H * E. Values and all three gradients.
struct FusedCase {
  const char* name;
  int64_t l, s, e, ev;
  DType dtype;
  bool causal, pad, dropout;
  bool rows_summed;  // the loss sums the output over L: the incoming gradient has rows of stride 0
  double tolerance;
};

void expect_fused_matches_composed(const FusedCase& c) {
  SCOPED_TRACE(c.name);
  const int64_t n = 2, h = 3;
  auto split = [&](const Tensor& rows, int64_t t, int64_t e) { return transpose(reshape(rows, {n, t, h, e}), 1, 2); };
  const Tensor qr = testing::random({n, c.l, h * c.e}, c.dtype, 1), kr = testing::random({n, c.s, h * c.e}, c.dtype, 2),
               vr = testing::random({n, c.s, h * c.ev}, c.dtype, 3);
  // Padding: image 0 loses its last two keys, image 1 all of them (its queries get NaN weights on both paths).
  std::vector<uint8_t> pad_values(static_cast<size_t>(n * c.s), 0);
  for (int64_t j = c.s - 2; j < c.s; ++j) pad_values[static_cast<size_t>(j)] = 1;  // image 0: the last two keys
  for (int64_t j = 0; j < c.s; ++j) pad_values[static_cast<size_t>(c.s + j)] = 1;  // image 1: every key
  const Tensor pad = from_vector<uint8_t>(pad_values, {n, 1, 1, c.s});
  const double p = c.dropout ? 0.25 : 0.0;
  auto run = [&](bool fused) {
    const Tensor q = qr.clone().set_requires_grad(true), k = kr.clone().set_requires_grad(true),
                 v = vr.clone().set_requires_grad(true);
    Generator gen(3);
    Tensor out;
    if (fused) {
      AttentionOptions o;
      if (c.pad) o.masked_out = pad;
      o.causal = c.causal;
      o.dropout = p;
      o.training = true;
      o.gen = &gen;
      out = scaled_dot_product_attention(split(q, c.l, c.e), split(k, c.s, c.e), split(v, c.s, c.ev), o);
    } else {
      Tensor scores = mul(matmul(split(q, c.l, c.e), transpose(split(k, c.s, c.e), -2, -1)),
                          1 / std::sqrt(static_cast<double>(c.e)));
      if (c.pad) scores = masked_fill(scores, pad, -INFINITY);
      if (c.causal) {
        const Tensor future =
            kernels::compare(kernels::CompareOp::gt, arange(0.0, double(c.s), 1.0, c.dtype).view({1, c.s}),
                             arange(0.0, double(c.l), 1.0, c.dtype).view({c.l, 1}));
        scores = masked_fill(scores, future, -INFINITY);
      }
      Tensor weights = softmax(scores, -1);
      if (c.dropout) {
        const Tensor keep = keep_mask({n, h, c.l, c.s}, c.dtype, p, &gen);
        weights = where(keep, mul(weights, 1 / (1 - p)), zeros({}, c.dtype));
      }
      out = matmul(weights, split(v, c.s, c.ev));
    }
    const Tensor w = testing::random({n, h, c.rows_summed ? 1 : c.l, c.ev}, c.dtype, 4);
    // NaN outputs (queries with no key) are left out of the loss; their gradients are still compared.
    // (Without padding there are none, and out reaches the sum directly: its gradient is then an expanded view.)
    const Tensor finite =
        c.pad ? where(kernels::compare(kernels::CompareOp::eq, out, out), out, zeros({}, c.dtype)) : out;
    sum(mul(c.rows_summed ? sum(finite, {2}, true) : finite, w)).backward();
    return std::vector<Tensor>{out, q.grad(), k.grad(), v.grad()};
  };
  const std::vector<Tensor> fused = run(true), composed = run(false);
  double largest = 0;
  for (size_t i = 0; i < fused.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(fused[i].shape(), composed[i].shape());
    for (const auto& index : testing::all_indices(fused[i].shape())) {
      const double got = at(fused[i], index), want = at(composed[i], index);
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(got));
        continue;
      }
      ASSERT_NEAR(got, want, c.tolerance * (1 + std::abs(want)));
      if (i == 2) largest = std::max(largest, std::abs(got));
    }
  }
  EXPECT_GT(largest, 0.05);  // dk is not all zero
}

TEST(Attention, FusedKernelMatchesTheComposedOps) {
  const FusedCase cases[] = {
      {"square, f64, padding + causal + dropout", 6, 6, 4, 4, DType::f64, true, true, true, false, 1e-12},
      {"rectangular, f32, padding + dropout", 5, 7, 4, 3, DType::f32, false, true, true, false, 2e-5},
      {"rectangular, f64, causal, rows summed", 4, 6, 3, 5, DType::f64, true, false, false, true, 1e-12},
      {"one query, f64, padding", 1, 5, 4, 4, DType::f64, false, true, false, false, 1e-12},
  };
  for (const FusedCase& c : cases) expect_fused_matches_composed(c);
}

TEST(Attention, FullyMaskedQueriesGiveNaNLikePyTorch) {
  const Tensor q = testing::random({1, 2, 4});
  AttentionOptions o;
  o.masked_out = ones({2, 3}, DType::u8);
  const Tensor out = scaled_dot_product_attention(q, testing::random({1, 3, 4}), testing::random({1, 3, 4}), o);
  EXPECT_TRUE(std::isnan(at(out, {0, 0, 0})));
  EXPECT_QN_ERROR(scaled_dot_product_attention(q, testing::random({1, 3, 5}), testing::random({1, 3, 4})),
                  "scaled_dot_product_attention", "q (..., L, E)");
}

}  // namespace
}  // namespace qn
