// Scalar (affine) quantization kernels: fake quantization and the Quant-Noise mix (docs/METHOD.md).
//   Q(x)  = (clamp(round(x / s + z), 0, qmax) - z) s      round half to even, in the tensor's precision
//   range = [-s z, s (qmax - z)]                            what Q can represent
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace qn {

// Parameters of N-bit codes 0..qmax: one (scale, zero point) for the tensor, or one per slice along dim 0
// (per output channel).
struct QParams {
  int bits = 8;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;

  int64_t qmax() const { return (int64_t{1} << bits) - 1; }
  bool per_channel() const { return scale.size() > 1; }
  float low(size_t c) const { return -scale[c] * static_cast<float>(zero_point[c]); }
  float high(size_t c) const { return scale[c] * static_cast<float>(qmax() - zero_point[c]); }
};

}  // namespace qn

namespace qn::kernels {

Tensor fake_quantize(const Tensor& x, const QParams& q);

struct ScalarNoise {
  Tensor value;  // clamp(x) + (selected ? Q(x) - clamp(x) : 0)
  Tensor pass;   // u8: 1 where x lies inside the range (where the straight-through gradient flows)
};
// Element i is selected when uniform[i] < p; an undefined uniform selects every element (p = 1).
ScalarNoise scalar_quant_noise(const Tensor& x, const QParams& q, const Tensor& uniform, double p);

// k-means E-step: for each row x of points (N, d), the index of the nearest row of centroids (K, d) in L2,
// the first on ties, found as argmax_k (2 x.c_k - ||c_k||^2) with x.c_k from GEMM. i64 (N).
// The CPU kernel fuses the scores with the argmax, in cache. A device (and the simulated one) computes them with its
// GEMM, chunk_scores (block, centroid) scores at a time at most: the Wikitext-103 LM's adaptive-input band (2.56M
// blocks, K = 256) would otherwise need 2.6 GB per (N, K) temporary; in chunks of 2^24 scores, three f32
// temporaries take 192 MiB.
inline constexpr int64_t kAssignmentChunkScores = int64_t{1} << 24;
Tensor nearest_centroid(const Tensor& points, const Tensor& centroids, int64_t chunk_scores = kAssignmentChunkScores);
// ||centroids[assignments] - points||_F, accumulated in f64. A device works through chunk_rows blocks at a time
// (five f64 temporaries of 2^19 blocks of 8: 160 MiB), and reads its total back once.
inline constexpr int64_t kAssignmentErrorChunkRows = int64_t{1} << 19;
double assignment_error(const Tensor& points, const Tensor& centroids, const Tensor& assignments,
                        int64_t chunk_rows = kAssignmentErrorChunkRows);

// The smallest and largest element of x (as f32), per tensor or per slice along dim 0.
struct MinMax {
  std::vector<float> min, max;
};
MinMax min_max(const Tensor& x, bool per_channel);

}  // namespace qn::kernels
