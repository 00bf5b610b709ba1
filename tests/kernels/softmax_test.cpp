// Softmax, log-softmax and LayerNorm against naive f64 formulas.
#include "kernels/softmax.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/layer_norm.h"
#include "tests/reference.h"

namespace qn::kernels {
namespace {

using testing::at;
using testing::Index;

// Naive softmax / log-softmax of x along dim at idx, with the max subtracted.
double reference_softmax(const Tensor& x, int dim, const Index& idx, bool log) {
  Index j = idx;
  double max = -INFINITY;
  for (j[dim] = 0; j[dim] < x.size(dim); ++j[dim]) max = std::max(max, at(x, j));
  double total = 0;
  for (j[dim] = 0; j[dim] < x.size(dim); ++j[dim]) total += std::exp(at(x, j) - max);
  return log ? at(x, idx) - max - std::log(total) : std::exp(at(x, idx) - max) / total;
}

TEST(Softmax, EveryDimBothForms) {
  for (DType t : {DType::f32, DType::f64}) {
    Tensor x = binary(BinaryOp::mul, testing::random_strided({4, 5, 6}, t), 4.0);
    for (int dim = 0; dim < 3; ++dim) {
      for (bool log : {false, true}) {
        Tensor y = log ? log_softmax(x, dim) : softmax(x, dim);
        SCOPED_TRACE("dim " + std::to_string(dim) + (log ? " log" : ""));
        testing::expect_all_close(
            y, x.shape(), [&](const Index& i) { return reference_softmax(x, dim, i, log); }, testing::rtol_for(t) * 5,
            t == DType::f32 ? 1e-6 : 1e-14);
      }
    }
  }
}

TEST(Softmax, LargeLogitsAndMaskedEntries) {
  Tensor x = from_vector<float>({1000, 1001, -INFINITY, 999}, {1, 4});
  Tensor y = softmax(x, -1);
  EXPECT_NEAR(at(y, {0, 2}), 0.0, 0);
  EXPECT_NEAR(at(y, {0, 1}), 1 / (1 + std::exp(-1.0) + std::exp(-2.0)), 1e-6);
  Tensor ls = log_softmax(x, 1);
  EXPECT_TRUE(std::isinf(at(ls, {0, 2})));
  EXPECT_NEAR(at(ls, {0, 3}), -2 - std::log(1 + std::exp(-1.0) + std::exp(-2.0)), 1e-5);
  EXPECT_EQ(softmax(zeros({0, 3}), 1).shape(), (Shape{0, 3}));
  EXPECT_QN_ERROR(softmax(ones({2}, DType::i64), 0), "softmax", "f32 or f64");
}

TEST(LayerNorm, MatchesDefinitionWithAndWithoutAffine) {
  for (DType t : {DType::f32, DType::f64}) {
    Tensor x = testing::random_strided({3, 4, 8}, t);
    Tensor w = testing::random({4, 8}, t, 7);
    Tensor b = testing::random({4, 8}, t, 8);
    for (bool affine : {true, false}) {
      LayerNormResult r = layer_norm(x, {4, 8}, affine ? w : Tensor(), affine ? b : Tensor(), 1e-5);
      std::vector<double> mu(3), rstd(3);
      for (int64_t n = 0; n < 3; ++n) {
        double s = 0, ss = 0;
        for (int64_t i = 0; i < 4; ++i)
          for (int64_t j = 0; j < 8; ++j) s += at(x, {n, i, j});
        mu[n] = s / 32;
        for (int64_t i = 0; i < 4; ++i)
          for (int64_t j = 0; j < 8; ++j) ss += std::pow(at(x, {n, i, j}) - mu[n], 2);
        rstd[n] = 1 / std::sqrt(ss / 32 + 1e-5);
      }
      testing::expect_all_close(
          r.out, x.shape(),
          [&](const Index& i) {
            double v = (at(x, i) - mu[i[0]]) * rstd[i[0]];
            return affine ? v * at(w, {i[1], i[2]}) + at(b, {i[1], i[2]}) : v;
          },
          testing::rtol_for(t) * 5, t == DType::f32 ? 1e-5 : 1e-12);
      testing::expect_all_close(
          r.mean, {3}, [&](const Index& i) { return mu[i[0]]; }, 1e-5, 1e-6);
      testing::expect_all_close(
          r.rstd, {3}, [&](const Index& i) { return rstd[i[0]]; }, 1e-5, 1e-6);
    }
  }
  EXPECT_QN_ERROR(layer_norm(ones({2, 3}), {4}, Tensor(), Tensor()), "layer_norm", "[4]", "trailing dims");
  EXPECT_QN_ERROR(layer_norm(ones({2, 3}), {3}, ones({2}), Tensor()), "layer_norm", "weight and bias");
}

}  // namespace
}  // namespace qn::kernels
