// k-means by EM on weight blocks, as fairseq's iPQ runs it (docs/METHOD.md, product quantization):
//   init     K blocks drawn uniformly with replacement (duplicates, hence empty clusters, can occur)
//   E-step   nearest centroid in L2 (kernels::nearest_centroid: one GEMM per chunk of blocks)
//   repair   while a cluster is empty: a random empty cluster k and the most populated m become
//            c_m + e and c_m - e, e ~ N(0, eps^2 I), and every block is reassigned; after max_tentatives
//            attempts the run stops where it is (fairseq's EmptyClusterResolveError), repair_failed set
//   M-step   each centroid becomes the mean of its blocks
//   record   ||W_hat - W||_F (not squared) after each M-step
// All draws come from the generator, so a seed replays a run.
#pragma once

#include <cstdint>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"
#include "kernels/quant.h"

namespace qn::nn::quant {

struct KMeansOptions {
  int64_t n_centroids = 256;
  int64_t n_iter = 20;
  double eps = 1e-6;
  int64_t max_tentatives = 30;
  Generator* generator = nullptr;  // nullptr: the default generator
  // On a device, the assignment step scores this many (block, centroid) pairs at a time at most: chunks of rows
  // bound its scratch memory whatever the layer's size (kernels/quant.h).
  int64_t chunk_scores = kernels::kAssignmentChunkScores;
};

struct KMeansResult {
  Tensor centroids;               // (K, d), the blocks' dtype
  Tensor assignments;             // i64 (N)
  Tensor counts;                  // i64 (K): blocks per centroid (zeros included)
  std::vector<double> objective;  // per completed iteration
  bool repair_failed = false;     // stopped early: an empty cluster could not be filled
};

// blocks (N, d). initial_centroids (K, d), when given, replaces the random initialisation.
KMeansResult kmeans(const Tensor& blocks, const KMeansOptions& options, const Tensor& initial_centroids = {});

// The number of blocks assigned to each of k centroids (zeros included): a bincount with minlength k.
std::vector<int64_t> count_per_cluster(const Tensor& assignments, int64_t k);

// ||centroids[assignments] - blocks||_F.
double reconstruction_error(const Tensor& blocks, const Tensor& centroids, const Tensor& assignments);

}  // namespace qn::nn::quant
