#include "nn/quant/pq.h"

#include "autograd/ops.h"

namespace qn::nn::quant {

PqCodebook pq_encode(const Tensor& weight, const BlockLayout& layout, const KMeansOptions& options) {
  Tensor blocks;
  {
    NoGradGuard no_grad;
    blocks = to_blocks(weight.detach(), layout);
  }
  KMeansResult k = kmeans(blocks, options);
  return {layout, k.centroids, k.assignments, k.counts, std::move(k.objective), k.repair_failed};
}

Tensor pq_decode(const Tensor& centroids, const Tensor& assignments, const BlockLayout& layout) {
  return from_blocks(index_select(centroids, 0, assignments), layout);
}

}  // namespace qn::nn::quant
