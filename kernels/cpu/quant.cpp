// Scalar quantization on the CPU. Each channel (dim-0 slice, or the whole tensor) is a contiguous run.
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
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
  const float* u = uniform.defined() ? uniform.data_ptr<float>() : nullptr;
  const auto threshold = static_cast<float>(p);
  uint8_t* pass_data = pass.data_ptr<uint8_t>();
  visit_floating(x.dtype(), "scalar_quant_noise", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = x.data_ptr<T>();
    T* out = value.data_ptr<T>();
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
    const T* data = x.data_ptr<T>();
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

// Rows in chunks, so the (chunk, K) score matrix stays small (a few MiB) whatever N is.
void nearest_centroid(const Tensor& points, const Tensor& centroids, Tensor& out) {
  const int64_t n = points.size(0), k = centroids.size(0), d = points.size(1);
  constexpr int64_t kChunk = 4096;
  visit_floating(points.dtype(), "nearest_centroid", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* c = centroids.data_ptr<T>();
    std::vector<T> half_norm(static_cast<size_t>(k));  // ||c||^2 / 2: argmax of x.c - ||c||^2 / 2
    for (int64_t j = 0; j < k; ++j) {
      T sum = 0;
      for (int64_t e = 0; e < d; ++e) sum += c[j * d + e] * c[j * d + e];
      half_norm[static_cast<size_t>(j)] = sum / 2;
    }
    int64_t* assignment = out.data_ptr<int64_t>();
    const Tensor centroids_t = centroids.transpose(0, 1);
    for (int64_t begin = 0; begin < n; begin += kChunk) {
      const int64_t rows = std::min(kChunk, n - begin);
      Tensor scores = empty({rows, k}, points.dtype());
      matmul(points.narrow(0, begin, rows), centroids_t, scores);
      const T* s = scores.data_ptr<T>();
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
  });
}

}  // namespace qn::kernels::cpu
