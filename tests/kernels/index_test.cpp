// Indexing, cat/stack/split against definitions written as loops.
#include "kernels/index.h"

#include <gtest/gtest.h>

#include "kernels/join.h"
#include "tests/reference.h"

namespace qn::kernels {
namespace {

using testing::at;
using testing::Index;

TEST(IndexSelect, EveryDimWithRepeats) {
  Tensor x = testing::random_strided({4, 5, 3}, DType::f64);
  Tensor idx = from_vector<int64_t>({2, 0, 2});
  for (int dim = 0; dim < 3; ++dim) {
    Tensor y = index_select(x, dim, idx);
    Shape shape = x.shape();
    shape[dim] = 3;
    testing::expect_all_close(
        y, shape,
        [&](const Index& i) {
          Index j = i;
          j[dim] = static_cast<int64_t>(at(idx, {i[dim]}));
          return at(x, j);
        },
        0, 0);
  }
  EXPECT_QN_ERROR(index_select(x, 1, from_vector<int64_t>({5})), "index_select", "index 5", "size 5");
  EXPECT_QN_ERROR(index_select(x, 1, from_vector<int64_t>({-1})), "index_select", "index -1");
  EXPECT_QN_ERROR(index_select(x, 1, from_vector<float>({1})), "index_select", "i64 or i32");
}

TEST(Embedding, RowsForAnyIndexShape) {
  Tensor w = testing::random({10, 4});
  Tensor ids = from_vector<int32_t>({1, 9, 0, 1, 3, 3}, {2, 3});
  Tensor e = embedding(w, ids);
  testing::expect_all_close(
      e, {2, 3, 4},
      [&](const Index& i) {
        return at(w, {static_cast<int64_t>(at(ids, {i[0], i[1]})), i[2]});
      },
      0, 0);
  EXPECT_QN_ERROR(embedding(w, from_vector<int64_t>({10})), "index 10");
}

TEST(GatherScatter, TorchSemantics) {
  Tensor x = testing::random({3, 5}, DType::f64);
  Tensor idx = from_vector<int64_t>({4, 0, 1, 1, 2, 3}, {3, 2});
  Tensor g = gather(x, 1, idx);
  testing::expect_all_close(
      g, {3, 2},
      [&](const Index& i) {
        return at(x, {i[0], static_cast<int64_t>(at(idx, i))});
      },
      0, 0);
  Tensor g0 = gather(x, 0, from_vector<int64_t>({2, 0, 1}, {1, 3}));
  EXPECT_EQ(at(g0, {0, 0}), at(x, {2, 0}));
  EXPECT_EQ(at(g0, {0, 2}), at(x, {1, 2}));

  // scatter_add is the adjoint of gather: repeated indices accumulate.
  Tensor src = testing::random({3, 2}, DType::f64, 5);
  Tensor self = testing::random({3, 5}, DType::f64, 6);
  Tensor s = scatter_add(self, 1, idx, src);
  testing::expect_all_close(
      s, {3, 5},
      [&](const Index& i) {
        double v = at(self, i);
        for (int64_t j = 0; j < 2; ++j) {
          if (static_cast<int64_t>(at(idx, {i[0], j})) == i[1]) v += at(src, {i[0], j});
        }
        return v;
      },
      1e-14, 1e-14);
  EXPECT_QN_ERROR(gather(x, 1, from_vector<int64_t>({0}, {1})), "gather", "as many dims");
  EXPECT_QN_ERROR(gather(x, 1, from_vector<int64_t>({5}, {1, 1})), "gather", "index 5");
}

TEST(IndexAdd, AccumulatesRepeatedIndices) {
  Tensor self = zeros({4, 3}, DType::f64);
  Tensor src = testing::random({2, 5, 3}, DType::f64).select(0, 1);  // (5, 3) view
  Tensor idx = from_vector<int64_t>({0, 2, 0, 3, 0});
  Tensor y = index_add(self, 0, idx, src);
  testing::expect_all_close(
      y, {4, 3},
      [&](const Index& i) {
        double v = 0;
        for (int64_t j = 0; j < 5; ++j) {
          if (static_cast<int64_t>(at(idx, {j})) == i[0]) v += at(src, {j, i[1]});
        }
        return v;
      },
      1e-14, 1e-14);
  Tensor y1 = index_add(ones({2, 4}, DType::f64), 1, from_vector<int64_t>({3, 3}), ones({2, 2}, DType::f64));
  EXPECT_EQ(at(y1, {1, 3}), 3.0);
  EXPECT_QN_ERROR(index_add(self, 0, idx, ones({4, 3}, DType::f64)), "index_add", "must have shape [5, 3]");
}

TEST(Join, CatStackSplit) {
  Tensor a = testing::random({2, 3});
  Tensor b = testing::random_strided({2, 4});
  Tensor c = cat({a, b}, 1);
  testing::expect_all_close(
      c, {2, 7},
      [&](const Index& i) {
        return i[1] < 3 ? at(a, i) : at(b, {i[0], i[1] - 3});
      },
      0, 0);
  Tensor s = stack({a, a, a}, 1);
  EXPECT_EQ(s.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(at(s, {1, 2, 0}), at(a, {1, 0}));
  std::vector<Tensor> parts = split(c, 3, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].shape(), (Shape{2, 1}));
  EXPECT_TRUE(parts[1].shares_storage_with(c));
  std::vector<Tensor> sized = split(c, std::vector<int64_t>{3, 4}, -1);
  EXPECT_EQ(at(sized[1], {1, 3}), at(b, {1, 3}));
  EXPECT_EQ(cat({zeros({0, 3}), a}, 0).shape(), (Shape{2, 3}));
  EXPECT_QN_ERROR(cat({a, b}, 0), "cat", "tensor 1 has shape [2, 4]", "[2, 3]");
  EXPECT_QN_ERROR(stack({a, b}, 0), "stack", "[2, 4]");
  EXPECT_QN_ERROR(split(c, std::vector<int64_t>{3, 3}, 1), "split", "add up to 6", "has 7");
}

}  // namespace
}  // namespace qn::kernels
