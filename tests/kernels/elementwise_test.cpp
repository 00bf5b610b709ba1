// Elementwise kernels against naive f64 loops: every op, broadcasting, strided views, empty and size-1 dims.
#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/parallel.h"
#include "tests/kernels/elementwise_ops.h"
#include "tests/reference.h"

namespace qn::kernels {
namespace {

using testing::at;
using testing::broadcast_index;
using testing::Index;
using testing::kBinaryOps;
using testing::kUnaryOps;

double reference_unary(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::rsqrt:
      return 1 / std::sqrt(x);
    case UnaryOp::abs:
      return std::abs(x);
    case UnaryOp::tanh:
      return std::tanh(x);
    case UnaryOp::sigmoid:
      return 1 / (1 + std::exp(-x));
    case UnaryOp::relu:
      return x > 0 ? x : 0;
    case UnaryOp::gelu:
      return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2));
    case UnaryOp::gelu_tanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
    case UnaryOp::erf:
      return std::erf(x);
    case UnaryOp::silu:
      return x / (1 + std::exp(-x));
  }
  return NAN;
}

TEST(Unary, EveryOpMatchesReferenceOnContiguousAndStridedInputs) {
  for (DType dtype : {DType::f32, DType::f64}) {
    for (UnaryOp op : kUnaryOps) {
      const bool positive = op == UnaryOp::log || op == UnaryOp::sqrt || op == UnaryOp::rsqrt;
      for (bool strided : {false, true}) {
        Tensor x = strided ? testing::random_strided({7, 33}, dtype) : testing::random({7, 33}, dtype);
        if (positive) x = add(abs(x), scalar_tensor(0.01, dtype));
        Tensor y = unary(op, x);
        SCOPED_TRACE(std::string(op_name(op)) + " " + std::string(dtype_name(dtype)) + (strided ? " strided" : ""));
        testing::expect_all_close(
            y, x.shape(), [&](const Index& i) { return reference_unary(op, at(x, i)); }, testing::rtol_for(dtype),
            dtype == DType::f32 ? 1e-6 : 1e-14);
      }
    }
  }
}

TEST(Unary, ExpCoversTheWholeFloatRange) {
  std::vector<float> values;
  for (float v = -110.0f; v <= 90.0f; v += 0.37f) values.push_back(v);
  values.insert(values.end(), {0.0f, -0.0f, 88.7f, -87.3f, -103.0f, INFINITY, -INFINITY, NAN});
  Tensor x = from_vector<float>(values);
  Tensor y = exp(x);
  for (size_t i = 0; i < values.size(); ++i) {
    const double want = static_cast<float>(std::exp(static_cast<double>(values[i])));
    const double got = at(y, {static_cast<int64_t>(i)});
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got));
    } else if (std::isinf(want) || want == 0) {
      EXPECT_EQ(got, want) << values[i];
    } else if (want < 1.2e-38) {
      EXPECT_NEAR(got, want, 3e-45) << values[i];  // subnormal results: within a few subnormal steps
    } else {
      EXPECT_NEAR(got, want, 2.5e-7 * want) << values[i];
    }
  }
}

TEST(Unary, IntegerOpsAndDtypeChecks) {
  Tensor x = from_vector<int32_t>({-3, 0, 5});
  EXPECT_EQ(at(neg(x), {0}), 3);
  EXPECT_EQ(at(abs(x), {0}), 3);
  EXPECT_EQ(at(relu(x), {0}), 0);
  EXPECT_QN_ERROR(exp(x), "qn::exp", "floating", "i32[3]");
  // 16-bit floats compute in f32 and round once: e in f16 (spacing 2^-9 in [2, 4)) is 1392 x 2^-9 = 2.71875.
  const Tensor e = exp(ones({2}, DType::f16));
  EXPECT_EQ(e.dtype(), DType::f16);
  EXPECT_EQ(at(e, {1}), 2.71875);
}

double reference_binary(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      return a / b;
    case BinaryOp::pow:
      return std::pow(a, b);
    case BinaryOp::maximum:
      return std::max(a, b);
    case BinaryOp::minimum:
      return std::min(a, b);
    case BinaryOp::relu_backward:
      return b > 0 ? a : 0;
    case BinaryOp::silu_backward: {
      const double s = 1 / (1 + std::exp(-b));
      return a * s * (1 + b * (1 - s));
    }
    case BinaryOp::sigmoid_backward:
      return a * b * (1 - b);
    case BinaryOp::gelu_backward:
      return a * (0.5 * (1 + std::erf(b / std::sqrt(2.0))) + b * std::exp(-b * b / 2) / std::sqrt(2 * M_PI));
  }
  return NAN;
}

struct ShapePair {
  Shape a, b;
};

TEST(Binary, BroadcastingEdgeCases) {
  const ShapePair cases[] = {{{5, 4}, {5, 4}},
                             {{5, 4}, {4}},
                             {{5, 1}, {1, 4}},
                             {{3, 1, 4}, {2, 1}},
                             {{}, {3}},
                             {{3}, {}},
                             {{1}, {2, 3}},
                             {{0, 3}, {1, 3}},
                             {{2, 0}, {2, 1}},
                             {{1, 1, 1}, {1}},
                             {{2, 3, 4, 5}, {3, 1, 5}},
                             {{6, 1, 7}, {1, 5, 1}},
                             // one value per row of trailing elements, on either side (a per-channel scale)
                             {{4, 3, 2, 2}, {4, 3, 1, 1}},
                             {{4, 3, 1, 1}, {4, 3, 2, 2}},
                             {{5, 7}, {5, 1}},
                             {{1, 4, 3, 2}, {4, 3, 1}},  // out's leading 1 before the rows
                             {{2, 3, 4}, {3, 1}}};       // not one per row: broadcast over the first dim too
  for (const ShapePair& c : cases) {
    for (BinaryOp op : kBinaryOps) {
      for (DType dtype : {DType::f32, DType::f64}) {
        Tensor a = testing::random(c.a, dtype, 1);
        Tensor b = testing::random(c.b, dtype, 2);
        if (op == BinaryOp::pow) a = add(abs(a), scalar_tensor(0.5, dtype));
        Tensor y = binary(op, a, b);
        SCOPED_TRACE(std::string(op_name(op)) + " " + c.a.str() + " " + c.b.str());
        testing::expect_all_close(
            y, broadcast_shapes(c.a, c.b, "test"),
            [&](const Index& i) {
              return reference_binary(op, at(a, broadcast_index(i, c.a)), at(b, broadcast_index(i, c.b)));
            },
            testing::rtol_for(dtype), 1e-12);
      }
    }
  }
}

TEST(Binary, NonContiguousOperandsAndOutput) {
  Tensor a = testing::random_strided({6, 9});
  Tensor b = testing::random({9, 6}).t();  // transposed view
  Tensor out_base = zeros({9, 6});
  Tensor out = out_base.t();
  binary_out(BinaryOp::mul, a, b, out);
  testing::expect_all_close(
      out, {6, 9}, [&](const Index& i) { return at(a, i) * at(b, i); }, 1e-6, 0);
  // In place: out is one of the inputs.
  Tensor x = testing::random({4, 5});
  Tensor x0 = x.clone();
  binary_out(BinaryOp::add, x, x, x);
  testing::expect_all_close(
      x, {4, 5}, [&](const Index& i) { return 2 * at(x0, i); }, 1e-6, 0);
}

// One value per short row of the other operand (a per-channel scale on small planes) takes a loop of its own:
// in place, with integers, with u8 comparisons, and into a non-contiguous output (which the loop leaves to the
// general one).
TEST(Binary, OneValuePerShortRow) {
  Tensor rows = testing::random({600, 64, 2});  // enough rows to split them over threads
  const Tensor rows0 = rows.clone(), scale = testing::random({600, 64, 1}, DType::f32, 3);
  binary_out(BinaryOp::mul, rows, scale, rows);
  testing::expect_all_close(
      rows, {600, 64, 2},
      [&](const Index& i) {
        return at(rows0, i) * at(scale, {i[0], i[1], 0});
      },
      1e-6, 0);

  const Tensor counts = from_vector<int64_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 3, 2});
  const Tensor per_row = from_vector<int64_t>({2, -1, 3, 0, 5, 1}, {2, 3, 1});
  testing::expect_all_close(
      binary(BinaryOp::sub, per_row, counts), {2, 3, 2},
      [&](const Index& i) {
        return at(per_row, {i[0], i[1], 0}) - at(counts, i);
      },
      0, 0);

  const Tensor x = testing::random({5, 3, 2, 2}), threshold = testing::random({5, 3, 1, 1}, DType::f32, 4);
  const Tensor mask = compare(CompareOp::gt, x, threshold);
  EXPECT_EQ(mask.dtype(), DType::u8);
  testing::expect_all_close(
      mask, {5, 3, 2, 2},
      [&](const Index& i) {
        return at(x, i) > at(threshold, {i[0], i[1], 0, 0}) ? 1.0 : 0.0;
      },
      0, 0);

  Tensor out_base = zeros({2, 4, 3});
  Tensor out = out_base.permute({0, 2, 1});  // (2, 3, 4), not contiguous
  const Tensor full = testing::random({2, 3, 4}), value = testing::random({2, 3, 1}, DType::f32, 5);
  binary_out(BinaryOp::div, full, value, out);
  testing::expect_all_close(
      out, {2, 3, 4},
      [&](const Index& i) {
        return at(full, i) / at(value, {i[0], i[1], 0});
      },
      1e-6, 0);
}

TEST(Binary, IntegersScalarsAndErrors) {
  Tensor a = from_vector<int64_t>({7, -7, 2});
  Tensor b = from_vector<int64_t>({2, 2, 10});
  EXPECT_EQ(at(div(a, b), {1}), -3);  // truncation
  EXPECT_EQ(at(pow(a, b), {2}), 1024);
  EXPECT_EQ(at(binary(BinaryOp::mul, a, 3.0), {1}), -21);
  EXPECT_QN_ERROR(div(a, from_vector<int64_t>({1, 0, 1})), "integer division by zero");
  EXPECT_QN_ERROR(add(ones({2, 3}), ones({4})), "qn::add", "[2, 3]", "[4]", "cannot be broadcast");
  EXPECT_QN_ERROR(add(ones({2}), ones({2}, DType::f64)), "qn::add", "one dtype", "f32[2]", "f64[2]");
  Tensor wrong = empty({3});
  EXPECT_QN_ERROR(binary_out(BinaryOp::add, ones({2}), ones({2}), wrong), "output f32[3]");
  EXPECT_TRUE(std::isnan(at(maximum(from_vector<float>({NAN}), from_vector<float>({1})), {0})));
}

TEST(Binary, AddScaledRoundsOnce) {
  Tensor a = testing::random({4, 5}, DType::f32, 1);
  Tensor b = testing::random({5}, DType::f32, 2);
  Tensor out = empty({4, 5});
  add_scaled_out(a, b, -0.3, out);
  for (const Index& i : testing::all_indices({4, 5})) {
    const float want = std::fma(static_cast<float>(at(b, {i[1]})), -0.3f, static_cast<float>(at(a, i)));
    EXPECT_EQ(at(out, i), static_cast<double>(want));
  }
  Tensor ints = from_vector<int64_t>({1, 2});
  add_scaled_out(ints, from_vector<int64_t>({3, 4}), 2, ints);
  EXPECT_EQ(at(ints, {1}), 10.0);
}

TEST(Compare, ProducesU8Masks) {
  Tensor a = from_vector<float>({1, 2, 3, NAN});
  Tensor b = from_vector<float>({2, 2, 2, 2});
  const std::pair<CompareOp, std::vector<double>> cases[] = {
      {CompareOp::eq, {0, 1, 0, 0}}, {CompareOp::ne, {1, 0, 1, 1}}, {CompareOp::lt, {1, 0, 0, 0}},
      {CompareOp::le, {1, 1, 0, 0}}, {CompareOp::gt, {0, 0, 1, 0}}, {CompareOp::ge, {0, 1, 1, 0}}};
  for (const auto& [op, want] : cases) {
    Tensor m = compare(op, a, b);
    EXPECT_EQ(m.dtype(), DType::u8);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(at(m, {i}), want[i]) << op_name(op) << " " << i;
  }
  EXPECT_EQ(compare(CompareOp::gt, testing::random({3, 1}), testing::random({4})).shape(), (Shape{3, 4}));
}

TEST(ClampAndWhere, MatchDefinitions) {
  Tensor x = testing::random({5, 6}, DType::f64);
  Tensor c = clamp(x, -0.5, 0.25);
  testing::expect_all_close(
      c, x.shape(), [&](const Index& i) { return std::clamp(at(x, i), -0.5, 0.25); }, 0, 0);
  Tensor lower = clamp(x, 0.0, std::nullopt);
  testing::expect_all_close(
      lower, x.shape(), [&](const Index& i) { return std::max(at(x, i), 0.0); }, 0, 0);
  EXPECT_QN_ERROR(clamp(x, 1.0, 0.0), "clamp", "exceeds");

  Tensor cond = compare(CompareOp::gt, x, 0.0);
  Tensor y = testing::random({6}, DType::f64, 3);
  Tensor w = where(cond, x, y);
  testing::expect_all_close(
      w, x.shape(), [&](const Index& i) { return at(x, i) > 0 ? at(x, i) : at(y, {i[1]}); }, 0, 0);
  EXPECT_QN_ERROR(where(x, x, x), "where", "u8");

  // The contiguous row loops: both operands full, a scalar else, a scalar then.
  Tensor z = testing::random({5, 6}, DType::f64, 4);
  testing::expect_all_close(
      where(cond, x, z), x.shape(), [&](const Index& i) { return at(x, i) > 0 ? at(x, i) : at(z, i); }, 0, 0);
  const Tensor half = scalar_tensor(0.5, DType::f64);
  testing::expect_all_close(
      where(cond, x, half), x.shape(), [&](const Index& i) { return at(x, i) > 0 ? at(x, i) : 0.5; }, 0, 0);
  testing::expect_all_close(
      where(cond, half, z), x.shape(), [&](const Index& i) { return at(x, i) > 0 ? 0.5 : at(z, i); }, 0, 0);
}

TEST(MaskedScale, KeepsAndScalesOrZeroes) {
  for (const DType dtype : {DType::f32, DType::f64}) {
    const Tensor x = testing::random({7, 9}, dtype, 5);
    const Tensor keep = compare(CompareOp::gt, testing::random({7, 9}, dtype, 6), 0.0);
    testing::expect_all_close(
        masked_scale(x, keep, 1.25), x.shape(), [&](const Index& i) { return at(keep, i) ? at(x, i) * 1.25 : 0.0; },
        dtype == DType::f32 ? 1e-6 : 0, 0);
    const Tensor xt = x.transpose(0, 1);  // strided input
    const Tensor keep_t = compare(CompareOp::gt, testing::random({9, 7}, dtype, 7), 0.0);
    testing::expect_all_close(
        masked_scale(xt, keep_t, 2.0), xt.shape(), [&](const Index& i) { return at(keep_t, i) ? at(xt, i) * 2 : 0.0; },
        0, 0);
  }
  EXPECT_QN_ERROR(masked_scale(ones({3}), ones({3}), 2.0), "masked_scale", "u8 mask");
}

}  // namespace
}  // namespace qn::kernels

namespace qn::kernels {
namespace {

// Inputs large enough that the element range is split over threads mid-row.
TEST(Parallel, SplitRowsMatchReference) {
  Tensor a = testing::random_strided({3001, 37}, DType::f64);
  Tensor b = testing::random({37}, DType::f64, 2);
  Tensor y = add(a, b);
  testing::expect_all_close(
      y, {3001, 37}, [&](const testing::Index& i) { return at(a, i) + at(b, {i[1]}); }, 0, 0);
  Tensor x = testing::random({70001});
  Tensor e = exp(x);
  testing::expect_all_close(
      e, {70001}, [&](const testing::Index& i) { return std::exp(at(x, i)); }, 2e-6, 0);
}

TEST(Parallel, OneThreadSettingForLoopsAndBlas) {
  const int before = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  Tensor y = add(testing::random({100000}), testing::random({100000}, DType::f32, 2));  // runs on one thread
  EXPECT_EQ(y.numel(), 100000);
  set_num_threads(before);
  EXPECT_EQ(get_num_threads(), before);
  EXPECT_QN_ERROR(set_num_threads(0), "set_num_threads", "positive");
}

}  // namespace
}  // namespace qn::kernels
