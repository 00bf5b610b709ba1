#include "nn/quant/kmeans.h"

#include <algorithm>
#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/index.h"
#include "kernels/quant.h"

namespace qn::nn::quant {
namespace {

std::vector<int64_t> empty_clusters(const std::vector<int64_t>& counts) {
  std::vector<int64_t> out;
  for (size_t k = 0; k < counts.size(); ++k)
    if (counts[k] == 0) out.push_back(static_cast<int64_t>(k));
  return out;
}

// Splits the most populated cluster into empty ones until none is empty; false after max_tentatives.
bool repair_empty_clusters(const Tensor& blocks, Tensor& centroids, Tensor& assignments, std::vector<int64_t>& counts,
                           const KMeansOptions& o) {
  std::vector<int64_t> empty = empty_clusters(counts);
  for (int64_t tentative = 0; !empty.empty(); ++tentative) {
    if (tentative == o.max_tentatives) return false;
    // Which empty cluster: a host draw (the empty clusters are a host list), not a read of the device.
    const int64_t pick = randint(0, static_cast<int64_t>(empty.size()), {1}, DType::i64, o.generator).item<int64_t>();
    const int64_t k = empty[static_cast<size_t>(pick)];
    const auto m = static_cast<int64_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
    const Tensor e =
        kernels::binary(kernels::BinaryOp::mul, randn({centroids.size(1)}, centroids.options(), o.generator), o.eps);
    const Tensor base = centroids.select(0, m).clone();
    centroids.select(0, k).copy_(kernels::binary(kernels::BinaryOp::add, base, e));
    centroids.select(0, m).copy_(kernels::binary(kernels::BinaryOp::sub, base, e));
    assignments = kernels::nearest_centroid(blocks, centroids, o.chunk_scores);
    counts = count_per_cluster(assignments, centroids.size(0));
    empty = empty_clusters(counts);
  }
  return true;
}

// Each centroid becomes the mean of its blocks (every cluster is non-empty here).
void update_centroids(const Tensor& blocks, Tensor& centroids, const Tensor& assignments,
                      const std::vector<int64_t>& counts) {
  const Tensor sums = kernels::index_add(zeros_like(centroids), 0, assignments, blocks);
  const Tensor divisor =
      from_vector<int64_t>(counts, {centroids.size(0), 1}).to(centroids.dtype()).to(centroids.device());
  centroids.copy_(kernels::binary(kernels::BinaryOp::div, sums, divisor));
}

}  // namespace

std::vector<int64_t> count_per_cluster(const Tensor& assignments, int64_t k) {
  std::vector<int64_t> counts(static_cast<size_t>(k), 0);
  const Tensor host = assignments.to(Device::cpu()).contiguous();
  const int64_t* a = host.data_ptr<int64_t>();
  for (int64_t i = 0; i < host.numel(); ++i) ++counts[static_cast<size_t>(a[i])];
  return counts;
}

double reconstruction_error(const Tensor& blocks, const Tensor& centroids, const Tensor& assignments) {
  return kernels::assignment_error(blocks, centroids, assignments);
}

KMeansResult kmeans(const Tensor& blocks_in, const KMeansOptions& o, const Tensor& initial_centroids) {
  QN_CHECK(blocks_in.dim() == 2 && blocks_in.size(0) > 0, "kmeans", "expected blocks (N, d), got ",
           blocks_in.describe());
  QN_CHECK(o.n_centroids > 0 && o.n_iter >= 0 && o.max_tentatives >= 0, "kmeans",
           "need n_centroids > 0, n_iter >= 0 and max_tentatives >= 0");
  const Tensor blocks = blocks_in.detach().contiguous();
  KMeansResult result;
  if (initial_centroids.defined()) {
    QN_CHECK(initial_centroids.shape() == Shape({o.n_centroids, blocks.size(1)}), "kmeans",
             "initial centroids must be (", o.n_centroids, ", ", blocks.size(1), "), got ", initial_centroids.shape());
    result.centroids = initial_centroids.detach().to(blocks.dtype()).clone();
  } else {
    const Tensor picks =
        randint(0, blocks.size(0), {o.n_centroids}, TensorOptions(DType::i64, blocks.device()), o.generator);
    result.centroids = kernels::index_select(blocks, 0, picks).contiguous();
  }
  result.assignments = kernels::nearest_centroid(blocks, result.centroids, o.chunk_scores);
  std::vector<int64_t> counts = count_per_cluster(result.assignments, o.n_centroids);
  for (int64_t iter = 0; iter < o.n_iter; ++iter) {
    if (iter > 0) {
      result.assignments = kernels::nearest_centroid(blocks, result.centroids, o.chunk_scores);
      counts = count_per_cluster(result.assignments, o.n_centroids);
    }
    if (!repair_empty_clusters(blocks, result.centroids, result.assignments, counts, o)) {
      result.repair_failed = true;
      break;
    }
    update_centroids(blocks, result.centroids, result.assignments, counts);
    result.objective.push_back(reconstruction_error(blocks, result.centroids, result.assignments));
  }
  result.counts = from_vector<int64_t>(counts).to(blocks.device());
  return result;
}

}  // namespace qn::nn::quant
