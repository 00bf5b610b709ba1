// Reductions against naive f64 loops over every combination of reduced dims, with and without keepdim.
#include "kernels/reduce.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/reference.h"

namespace qn::kernels {
namespace {

using testing::at;
using testing::Index;

// The values of x that reduce into output position out_idx (over the kept dims).
std::vector<double> group(const Tensor& x, const std::vector<bool>& reduced, const Index& out_idx) {
  std::vector<double> values;
  for (const Index& idx : testing::all_indices(x.shape())) {
    size_t k = 0;
    bool match = true;
    for (int d = 0; d < x.dim(); ++d) {
      if (!reduced[d]) match = match && idx[d] == out_idx[k++];
    }
    if (match) values.push_back(at(x, idx));
  }
  return values;
}

struct Reference {
  const char* name;
  std::function<Tensor(const Tensor&, const std::vector<int64_t>&, bool)> run;
  std::function<double(const std::vector<double>&)> expected;
};

const Reference kReferences[] = {
    {"sum", [](auto& x, auto& d, bool k) { return sum(x, d, k); },
     [](const std::vector<double>& v) {
       double s = 0;
       for (double x : v) s += x;
       return s;
     }},
    {"mean", [](auto& x, auto& d, bool k) { return mean(x, d, k); },
     [](const std::vector<double>& v) {
       double s = 0;
       for (double x : v) s += x;
       return s / v.size();
     }},
    {"amax", [](auto& x, auto& d, bool k) { return amax(x, d, k); },
     [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }},
    {"amin", [](auto& x, auto& d, bool k) { return amin(x, d, k); },
     [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }},
    {"var", [](auto& x, auto& d, bool k) { return var(x, d, 1, k); },
     [](const std::vector<double>& v) {
       double m = 0, s = 0;
       for (double x : v) m += x;
       m /= v.size();
       for (double x : v) s += (x - m) * (x - m);
       return s / (v.size() - 1);
     }},
};

TEST(Reduce, EveryDimSubsetMatchesReference) {
  const Shape shape{3, 4, 5};
  for (bool strided : {false, true}) {
    for (DType dtype : {DType::f32, DType::f64}) {
      Tensor x = strided ? testing::random_strided(shape, dtype) : testing::random(shape, dtype);
      for (int mask = 0; mask < 8; ++mask) {
        std::vector<int64_t> dims;
        std::vector<bool> reduced(3, mask == 0);
        for (int d = 0; d < 3; ++d) {
          if (mask & (1 << d)) {
            dims.push_back(d == 2 ? -1 : d);  // a negative dim too
            reduced[d] = true;
          }
        }
        for (bool keepdim : {false, true}) {
          Shape out_shape;
          for (int d = 0; d < 3; ++d) {
            if (!reduced[d])
              out_shape.push_back(shape[d]);
            else if (keepdim)
              out_shape.push_back(1);
          }
          for (const Reference& r : kReferences) {
            SCOPED_TRACE(std::string(r.name) + " mask " + std::to_string(mask) + (keepdim ? " keepdim" : "") +
                         (strided ? " strided" : ""));
            Tensor y = r.run(x, dims, keepdim);
            testing::expect_all_close(
                y, out_shape,
                [&](const Index& i) {
                  Index kept;
                  for (int d = 0; d < 3; ++d) {
                    if (!reduced[d]) kept.push_back(keepdim ? i[d] : i[kept.size()]);
                  }
                  return r.expected(group(x, reduced, kept));
                },
                dtype == DType::f32 ? 1e-5 : 1e-12, 1e-6);
          }
        }
      }
    }
  }
}

TEST(Reduce, OuterReductionOfAWideRow) {
  // The column path: reducing dim 0 of (N, C) with C contiguous, as a bias gradient does.
  Tensor x = testing::random({300, 257}, DType::f64);
  Tensor s = sum(x, {0});
  testing::expect_all_close(
      s, {257},
      [&](const Index& i) {
        double t = 0;
        for (int64_t r = 0; r < 300; ++r) t += at(x, {r, i[0]});
        return t;
      },
      1e-12, 1e-12);
}

TEST(Reduce, IntegersEmptyAndScalars) {
  Tensor i = from_vector<int32_t>({1, 2, 3, 4}, {2, 2});
  Tensor s = sum(i, {1});
  EXPECT_EQ(s.dtype(), DType::i64);
  EXPECT_EQ(at(s, {1}), 7);
  EXPECT_EQ(at(amax(i), {}), 4);
  Tensor e = zeros({0, 3});
  EXPECT_EQ(at(sum(e), {}), 0);
  EXPECT_EQ(sum(e, {0}).shape(), (Shape{3}));
  EXPECT_QN_ERROR(amax(e, {0}), "amax", "empty");
  EXPECT_QN_ERROR(mean(i), "mean", "floating");
  EXPECT_QN_ERROR(sum(i, {1, 1}), "sum", "twice");
  EXPECT_EQ(at(sum(scalar_tensor(3)), {}), 3);
  EXPECT_TRUE(std::isnan(at(amax(from_vector<float>({1, NAN, 3})), {})));
}

TEST(Argmax, FirstMaximumAlongDim) {
  Tensor x = testing::random_strided({6, 7}, DType::f64);
  for (int64_t dim : {0, 1, -1}) {
    Tensor a = argmax(x, dim);
    EXPECT_EQ(a.dtype(), DType::i64);
    const int d = dim < 0 ? 1 : static_cast<int>(dim);
    testing::expect_all_close(
        a, {dim == 0 ? 7 : 6},
        [&](const Index& i) {
          int64_t best = 0;
          for (int64_t j = 1; j < x.size(d); ++j) {
            Index at_j = d == 0 ? Index{j, i[0]} : Index{i[0], j};
            Index at_b = d == 0 ? Index{best, i[0]} : Index{i[0], best};
            if (at(x, at_j) > at(x, at_b)) best = j;
          }
          return static_cast<double>(best);
        },
        0, 0);
  }
  EXPECT_EQ(argmax(x, 1, true).shape(), (Shape{6, 1}));
  EXPECT_EQ(at(argmax(from_vector<float>({1, 5, 5, 2}), 0), {}), 1);  // first of ties
  EXPECT_EQ(at(argmax(from_vector<float>({1, NAN, 5}), 0), {}), 1);   // NaN is the maximum
  // 16-bit floats (a classifier's logits under autocast): the same answer as their f32 values.
  for (const DType half : {DType::f16, DType::bf16}) {
    EXPECT_EQ(at(argmax(from_vector<float>({1, 5, 5, 2}).to(half), 0), {}), 1);
    EXPECT_EQ(at(argmax(from_vector<float>({-3, -1, -2}).to(half), 0), {}), 1);
  }
}

}  // namespace
}  // namespace qn::kernels

namespace qn::kernels {
namespace {

TEST(Reduce, ManyShortRowsInParallel) {
  Tensor x = testing::random({5000, 7}, DType::f64);
  Tensor s = sum(x, {1});
  testing::expect_all_close(
      s, {5000},
      [&](const Index& i) {
        double t = 0;
        for (int64_t j = 0; j < 7; ++j) t += at(x, {i[0], j});
        return t;
      },
      1e-12, 1e-12);
}

}  // namespace
}  // namespace qn::kernels
