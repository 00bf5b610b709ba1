// Product quantization (docs/METHOD.md, product quantization): the block layout and k-means.
#include "nn/quant/pq.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "kernels/quant.h"
#include "tests/reference.h"

namespace qn::nn::quant {
namespace {

using testing::at;

// Oracle 20.
TEST(PqLayout, BlocksAreOrderedBlockMajorRowMinor) {
  const Tensor w = arange(0.0, 12.0, 1.0).reshape({3, 4});
  const BlockLayout linear = BlockLayout::of(LayerKind::kLinear, w.shape(), 2);
  const Tensor blocks = to_blocks(w, linear);
  const std::vector<std::array<double, 2>> expected = {{0, 1}, {4, 5}, {8, 9}, {2, 3}, {6, 7}, {10, 11}};
  ASSERT_EQ(blocks.shape(), Shape({6, 2}));
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(at(blocks, {i, 0}), expected[static_cast<size_t>(i)][0]);
    EXPECT_EQ(at(blocks, {i, 1}), expected[static_cast<size_t>(i)][1]);
  }
  const Tensor back = from_blocks(blocks, linear);
  for (const auto& index : testing::all_indices(w.shape())) EXPECT_EQ(at(back, index), at(w, index));

  const Tensor conv = arange(0.0, 24.0, 1.0).reshape({3, 2, 2, 2});
  const Tensor conv_blocks = to_blocks(conv, BlockLayout::of(LayerKind::kConv2d, conv.shape(), 4));
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t e = 0; e < 4; ++e) EXPECT_EQ(at(conv_blocks, {b, e}), 8.0 * b + e);
  }
}

// Oracle 21: values [0, 1, 9, 10], K 2, centroids starting at [0, 1].
TEST(KMeans, HandCheckableRun) {
  KMeansOptions o;
  o.n_centroids = 2;
  o.n_iter = 3;
  const KMeansResult r = kmeans(from_vector<float>({0, 1, 9, 10}, {4, 1}), o, from_vector<float>({0, 1}, {2, 1}));
  ASSERT_EQ(r.objective.size(), 3u);
  EXPECT_NEAR(r.objective[0], 6.97615, 1e-5);
  EXPECT_NEAR(r.objective[1], 1.0, 1e-6);
  EXPECT_NEAR(r.objective[2], 1.0, 1e-6);
  EXPECT_NEAR(at(r.centroids, {0, 0}), 0.5, 1e-6);
  EXPECT_NEAR(at(r.centroids, {1, 0}), 9.5, 1e-6);
  const std::vector<int64_t> assignments = {0, 0, 1, 1};
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(at(r.assignments, {i}), assignments[static_cast<size_t>(i)]);
  EXPECT_EQ(at(r.counts, {0}), 2);

  o.n_iter = 1;  // the first iteration alone: [0, 6.6667], assignments [0, 1, 1, 1]
  const KMeansResult first = kmeans(from_vector<float>({0, 1, 9, 10}, {4, 1}), o, from_vector<float>({0, 1}, {2, 1}));
  EXPECT_NEAR(at(first.centroids, {1, 0}), 20.0 / 3, 1e-5);
  EXPECT_EQ(at(first.assignments, {1}), 1);
}

// Oracle 22: 64x256, bs 8, K 16, 20 iterations: the objective never rises (beyond 1e-5) and decoding
// reproduces the last one.
TEST(KMeans, ObjectiveIsMonotoneAndMatchesTheDecodedWeight) {
  Generator gen(0);
  const Tensor w = randn({64, 256}, DType::f32, &gen);
  KMeansOptions o;
  o.n_centroids = 16;
  o.n_iter = 20;
  o.generator = &gen;
  const BlockLayout layout = BlockLayout::of(LayerKind::kLinear, w.shape(), 8);
  const PqCodebook pq = pq_encode(w, layout, o);
  ASSERT_EQ(pq.objective.size(), 20u);
  for (size_t i = 1; i < pq.objective.size(); ++i) EXPECT_LE(pq.objective[i], pq.objective[i - 1] + 1e-5) << i;
  EXPECT_LT(pq.objective.back(), pq.objective.front());
  const Tensor decoded = pq_decode(pq.centroids, pq.assignments, layout);
  ASSERT_EQ(decoded.shape(), w.shape());
  double error = 0;
  for (const auto& index : testing::all_indices(w.shape())) error += std::pow(at(decoded, index) - at(w, index), 2);
  EXPECT_NEAR(std::sqrt(error), pq.objective.back(), 1e-4 * pq.objective.back());
  int64_t total = 0;
  for (int64_t k = 0; k < 16; ++k) total += static_cast<int64_t>(at(pq.counts, {k}));
  EXPECT_EQ(total, 64 * 256 / 8);
}

// Oracle 23: 3 distinct blocks and K 4: one cluster can never be filled (identical blocks cannot be split);
// the run takes the documented failure path and leaves no NaN.
TEST(KMeans, EmptyClusterRepairEndsCleanlyOnDegenerateWeights) {
  std::vector<float> values;
  for (int i = 0; i < 30; ++i) values.push_back(static_cast<float>(i % 3));
  Generator gen(23);
  KMeansOptions o;
  o.n_centroids = 4;
  o.n_iter = 10;
  o.generator = &gen;
  const KMeansResult r = kmeans(from_vector<float>(values, {30, 1}), o);
  EXPECT_TRUE(r.repair_failed);
  for (int64_t k = 0; k < 4; ++k) EXPECT_TRUE(std::isfinite(at(r.centroids, {k, 0})));
  EXPECT_EQ(r.counts.numel(), 4);  // with the empty cluster's zero (fairseq's bincount dropped it)

  // All blocks equal, K 2: likewise.
  const KMeansResult same = kmeans(ones({10, 4}), o);
  EXPECT_TRUE(same.repair_failed);
  for (const auto& index : testing::all_indices(same.centroids.shape()))
    EXPECT_TRUE(std::isfinite(at(same.centroids, index)));

  // 4 distinct blocks, K 4, a start with a duplicate centroid: the empty cluster is split off the most
  // populated one and every cluster ends with its own value.
  const std::vector<float> distinct = {0.1f, 1.2f, 2.3f, 3.4f};
  std::vector<float> four;
  for (int i = 0; i < 40; ++i) four.push_back(distinct[static_cast<size_t>(i % 4)]);
  o.n_iter = 5;
  const KMeansResult repaired =
      kmeans(from_vector<float>(four, {40, 1}), o, from_vector<float>({0.1f, 0.1f, 2.3f, 3.4f}, {4, 1}));
  EXPECT_FALSE(repaired.repair_failed);
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(at(repaired.counts, {k}), 10);
  EXPECT_NEAR(repaired.objective.back(), 0.0, 1e-5);
}

// Equal centroids: the lowest index wins, whether the copies share a vector lane (3 and 19) or not (5 and
// 22), and points past a whole tile of 8 are assigned too.
TEST(KMeans, NearestCentroidTiesGoToTheLowestIndex) {
  Generator gen(2);
  Tensor centroids = randn({40, 8}, DType::f32, &gen);
  centroids.select(0, 19).copy_(centroids.select(0, 3));
  centroids.select(0, 22).copy_(centroids.select(0, 5));
  centroids.select(0, 39).copy_(centroids.select(0, 5));
  const Tensor points = index_select(centroids, 0, from_vector<int64_t>({19, 3, 22, 39, 5, 0, 1, 2, 19}));
  const Tensor nearest = kernels::nearest_centroid(points, centroids);
  const std::vector<double> expected = {3, 3, 5, 5, 5, 0, 1, 2, 3};
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(at(nearest, {i}), expected[static_cast<size_t>(i)]) << "point " << i;
}

TEST(KMeans, NearestCentroidIsTheL2Nearest) {
  Generator gen(1);
  const Tensor points = randn({500, 8}, DType::f32, &gen);
  const Tensor centroids = randn({37, 8}, DType::f32, &gen);
  const Tensor nearest = kernels::nearest_centroid(points, centroids);
  for (int64_t i = 0; i < 500; ++i) {
    double best = INFINITY;
    int64_t best_k = -1;
    for (int64_t k = 0; k < 37; ++k) {
      double d = 0;
      for (int64_t e = 0; e < 8; ++e) d += std::pow(at(points, {i, e}) - at(centroids, {k, e}), 2);
      if (d < best) {
        best = d;
        best_k = k;
      }
    }
    ASSERT_EQ(at(nearest, {i}), best_k) << "point " << i;
  }
}

}  // namespace
}  // namespace qn::nn::quant
