// Scalar quantization on the CPU. Each channel (dim-0 slice, or the whole tensor) is a contiguous run.
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"

namespace qn::kernels::cpu {

// In T's precision, as PyTorch's fake quantization computes on a T tensor with a float scale.
void scalar_quant_noise(const Tensor& x, const QParams& q, const Tensor& uniform, double p, Tensor& value,
                        Tensor& pass) {
  const int64_t n = x.numel();
  const int64_t channels = q.per_channel() ? x.size(0) : 1;
  const int64_t per_channel = channels > 0 ? n / channels : 0;
  const float* u = uniform.defined() ? uniform.device_ptr<float>() : nullptr;
  const auto threshold = static_cast<float>(p);
  uint8_t* pass_data = pass.device_ptr<uint8_t>();
  visit_floating(x.dtype(), "scalar_quant_noise", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = x.device_ptr<T>();
    T* out = value.device_ptr<T>();
    parallel_for(0, n, 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const auto c = static_cast<size_t>(q.per_channel() ? i / per_channel : 0);
        const T s = static_cast<T>(q.scale[c]);
        const T z = static_cast<T>(q.zero_point[c]);
        const T lo = static_cast<T>(q.low(c)), hi = static_cast<T>(q.high(c));
        const T w = in[i];
        const T clamped = std::min(std::max(w, lo), hi);
        pass_data[i] = w >= lo && w <= hi;
        if (u && !(u[i] < threshold)) {
          out[i] = clamped;
          continue;
        }
        const T code = std::min(std::max(std::nearbyint(w / s + z), T(0)), static_cast<T>(q.qmax()));
        out[i] = (code - z) * s;
      }
    });
  });
}

MinMax min_max(const Tensor& x, bool per_channel) {
  const int64_t channels = per_channel ? std::max<int64_t>(x.dim() == 0 ? 1 : x.size(0), 1) : 1;
  const int64_t run = x.numel() / channels;
  MinMax out{std::vector<float>(static_cast<size_t>(channels)), std::vector<float>(static_cast<size_t>(channels))};
  visit_floating(x.dtype(), "min_max", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* data = x.device_ptr<T>();
    for (int64_t c = 0; c < channels; ++c) {
      const auto [lo, hi] = std::minmax_element(data + c * run, data + (c + 1) * run);
      out.min[static_cast<size_t>(c)] = static_cast<float>(*lo);
      out.max[static_cast<size_t>(c)] = static_cast<float>(*hi);
    }
  });
  return out;
}

}  // namespace qn::kernels::cpu

namespace qn::kernels::cpu {

namespace {

// ||c_j||^2 / 2 for each centroid row: nearest in L2 = argmax_j (x.c_j - ||c_j||^2 / 2).
template <class T>
std::vector<T> half_squared_norms(const T* centroids, int64_t k, int64_t d) {
  std::vector<T> out(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) {
    T sum = 0;
    for (int64_t e = 0; e < d; ++e) sum += centroids[j * d + e] * centroids[j * d + e];
    out[static_cast<size_t>(j)] = sum / 2;
  }
  return out;
}

// The nearest of k centroids to each of n points of small dimension d: scores x.c - ||c||^2 / 2 for all
// centroids at once (the centroids transposed, (d, k), so the inner loop runs over centroids in vector
// lanes), then an argmax kept per lane and reduced at the end, lowest index first on ties.
template <class T>
void nearest_small_dim(const T* points, const T* centroids, int64_t n, int64_t k, int64_t d, int64_t* out) {
  const std::vector<T> half_norm = half_squared_norms(centroids, k, d);
  std::vector<T> transposed(static_cast<size_t>(d * k));
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t e = 0; e < d; ++e) transposed[static_cast<size_t>(e * k + j)] = centroids[j * d + e];
  }
  constexpr int64_t kLanes = 16;
  const int64_t padded = (k + kLanes - 1) / kLanes * kLanes;
  parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    std::vector<T> scores(static_cast<size_t>(padded));
    for (int64_t i = begin; i < end; ++i) {
      const T* x = points + i * d;
      T* s = scores.data();
      for (int64_t j = 0; j < k; ++j) s[j] = -half_norm[static_cast<size_t>(j)];
      for (int64_t j = k; j < padded; ++j) s[j] = -std::numeric_limits<T>::infinity();
      for (int64_t e = 0; e < d; ++e) {
        const T xe = x[e];
        const T* c = transposed.data() + e * k;
        for (int64_t j = 0; j < k; ++j) s[j] += xe * c[j];
      }
      // The best score (lane-wise maxima, a vector max), then the first centroid that has it, searched only
      // in the lanes whose maximum it is.
      T lane_max[kLanes];
      for (int64_t l = 0; l < kLanes; ++l) lane_max[l] = s[l];
      for (int64_t j = kLanes; j < padded; j += kLanes) {
        for (int64_t l = 0; l < kLanes; ++l) lane_max[l] = std::max(lane_max[l], s[j + l]);
      }
      T top = lane_max[0];
      for (int64_t l = 1; l < kLanes; ++l) top = std::max(top, lane_max[l]);
      int64_t winner = k - 1;  // (only kept if every score is NaN)
      for (int64_t l = 0; l < kLanes; ++l) {
        if (lane_max[l] != top) continue;
        for (int64_t j = l; j < std::min(winner, padded); j += kLanes) {
          if (s[j] == top) {
            winner = j;
            break;
          }
        }
      }
      out[i] = winner;
    }
  });
}

// The same for f32, register-tiled: 8 points against 16 centroids at a time, the 16 scores of each point in
// one vector register (GCC vector types: AVX-512 where the build targets it, two AVX2 halves otherwise).
// Each lane keeps its running maximum and the index that first reached it (strict >, so the earliest
// centroid of that lane wins ties); the lanes are then reduced to the overall maximum and the lowest index
// holding it: the first argmax, as the scalar loop finds.
using F32x16 = float __attribute__((vector_size(64)));
using I32x16 = int32_t __attribute__((vector_size(64)));

void nearest_small_dim_f32(const float* points, const float* centroids, int64_t n, int64_t k, int64_t d, int64_t* out) {
  constexpr int64_t kLanes = 16, kTile = 8;
  const int64_t blocks = (k + kLanes - 1) / kLanes;
  const std::vector<float> half_norm = half_squared_norms(centroids, k, d);
  // packed[(b d + e) 16 + l] = centroid (16 b + l), element e; bias = -||c||^2 / 2, -inf for padding lanes.
  std::vector<F32x16> packed(static_cast<size_t>(blocks * d));
  std::vector<F32x16> bias(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const int64_t j = b * kLanes + l;
      bias[static_cast<size_t>(b)][l] = j < k ? -half_norm[static_cast<size_t>(j)] : -INFINITY;
      for (int64_t e = 0; e < d; ++e) packed[static_cast<size_t>(b * d + e)][l] = j < k ? centroids[j * d + e] : 0.0f;
    }
  }
  I32x16 lane_index;
  for (int l = 0; l < kLanes; ++l) lane_index[l] = l;
  const int64_t tiles = (n + kTile - 1) / kTile;
  parallel_for(0, tiles, 32, [&](int64_t t0, int64_t t1) {
    float x[kTile][32] = {};
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t first = t * kTile, count = std::min(kTile, n - first);
      for (int64_t p = 0; p < count; ++p) std::copy(points + (first + p) * d, points + (first + p + 1) * d, x[p]);
      F32x16 best[kTile];
      I32x16 index[kTile];
      for (int64_t p = 0; p < kTile; ++p) {
        best[p] = F32x16{} - INFINITY;
        index[p] = I32x16{} + static_cast<int32_t>(k - 1);  // kept only if no score beats -inf (all NaN)
      }
      for (int64_t b = 0; b < blocks; ++b) {
        F32x16 acc[kTile];
        for (int64_t p = 0; p < kTile; ++p) acc[p] = bias[static_cast<size_t>(b)];
        for (int64_t e = 0; e < d; ++e) {
          const F32x16 c = packed[static_cast<size_t>(b * d + e)];
          for (int64_t p = 0; p < kTile; ++p) acc[p] += x[p][e] * c;
        }
        const I32x16 j = lane_index + static_cast<int32_t>(b * kLanes);
        for (int64_t p = 0; p < kTile; ++p) {
          const I32x16 better = acc[p] > best[p];
          best[p] = better ? acc[p] : best[p];
          index[p] = better ? j : index[p];
        }
      }
      for (int64_t p = 0; p < count; ++p) {
        float top = best[p][0];
        for (int l = 1; l < kLanes; ++l) top = std::max(top, best[p][l]);
        int32_t winner = index[p][0];
        bool found = false;
        for (int l = 0; l < kLanes; ++l) {
          if (best[p][l] == top && (!found || index[p][l] < winner)) {
            winner = index[p][l];
            found = true;
          }
        }
        out[first + p] = winner;
      }
    }
  });
}

// Larger dimensions: x.c from GEMM, rows in chunks so the (chunk, K) score matrix stays a few MiB.
template <class T>
void nearest_by_gemm(const Tensor& points, const Tensor& centroids, Tensor& out) {
  const int64_t n = points.size(0), k = centroids.size(0), d = points.size(1);
  constexpr int64_t kChunk = 4096;
  const std::vector<T> half_norm = half_squared_norms(centroids.device_ptr<T>(), k, d);
  int64_t* assignment = out.device_ptr<int64_t>();
  const Tensor centroids_t = centroids.transpose(0, 1);
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t rows = std::min(kChunk, n - begin);
    Tensor scores = empty({rows, k}, points.dtype());
    matmul(points.narrow(0, begin, rows), centroids_t, scores);
    const T* s = scores.device_ptr<T>();
    parallel_for(0, rows, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = s + r * k;
        int64_t best = 0;
        T best_score = row[0] - half_norm[0];
        for (int64_t j = 1; j < k; ++j) {
          const T score = row[j] - half_norm[static_cast<size_t>(j)];
          if (score > best_score) {
            best_score = score;
            best = j;
          }
        }
        assignment[begin + r] = best;
      }
    });
  }
}

}  // namespace

void nearest_centroid(const Tensor& points, const Tensor& centroids, Tensor& out) {
  visit_floating(points.dtype(), "nearest_centroid", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t d = points.size(1);
    if constexpr (std::is_same_v<T, float>) {
      if (d <= 32) {
        nearest_small_dim_f32(points.device_ptr<float>(), centroids.device_ptr<float>(), points.size(0),
                              centroids.size(0), d, out.device_ptr<int64_t>());
        return;
      }
    }
    if (d <= 32) {
      nearest_small_dim(points.device_ptr<T>(), centroids.device_ptr<T>(), points.size(0), centroids.size(0), d,
                        out.device_ptr<int64_t>());
    } else {
      nearest_by_gemm<T>(points, centroids, out);
    }
  });
}

double assignment_error(const Tensor& points, const Tensor& centroids, const Tensor& assignments) {
  const int64_t n = points.size(0), d = points.size(1);
  const int64_t* a = assignments.device_ptr<int64_t>();
  return visit_floating(points.dtype(), "assignment_error", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = points.device_ptr<T>();
    const T* c = centroids.device_ptr<T>();
    // Partial sums over fixed chunks, added in order: the same result whatever the thread count.
    constexpr int64_t kChunk = 4096;
    std::vector<double> partial(static_cast<size_t>((n + kChunk - 1) / kChunk), 0.0);
    parallel_for(0, static_cast<int64_t>(partial.size()), 1, [&](int64_t c0, int64_t c1) {
      for (int64_t chunk = c0; chunk < c1; ++chunk) {
        double sum = 0;
        for (int64_t i = chunk * kChunk; i < std::min(n, (chunk + 1) * kChunk); ++i) {
          for (int64_t e = 0; e < d; ++e) {
            const double diff = static_cast<double>(x[i * d + e]) - static_cast<double>(c[a[i] * d + e]);
            sum += diff * diff;
          }
        }
        partial[static_cast<size_t>(chunk)] = sum;
      }
    });
    double total = 0;
    for (const double p : partial) total += p;
    return std::sqrt(total);
  });
}

}  // namespace qn::kernels::cpu
