// Product quantization of one weight (docs/METHOD.md, product quantization): the weight's blocks (BlockLayout order)
// are clustered by k-means; the weight is then K centroids (K, bs) and one code per block.
#pragma once

#include "nn/quant/block_layout.h"
#include "nn/quant/kmeans.h"

namespace qn::nn::quant {

struct PqCodebook {
  BlockLayout layout;
  Tensor centroids;    // (K, bs)
  Tensor assignments;  // i64 (num_blocks): block i of the layout uses centroid assignments[i]
  Tensor counts;       // i64 (K)
  std::vector<double> objective;
  bool repair_failed = false;
};

PqCodebook pq_encode(const Tensor& weight, const BlockLayout& layout, const KMeansOptions& options);

// The dense weight of a codebook: centroids gathered by the codes, reshaped back (differentiable in the
// centroids).
Tensor pq_decode(const Tensor& centroids, const Tensor& assignments, const BlockLayout& layout);

}  // namespace qn::nn::quant
