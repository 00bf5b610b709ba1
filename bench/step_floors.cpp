#include "bench/step_floors.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>

#include "models/efficientnet.h"

namespace qn::bench {
namespace {

// Products under this many flops run one matrix per thread (the engine's rule for batched products).
constexpr double kSmallGemmFlops = 2.0 * 192 * 192 * 192;

void add_linear(std::vector<Gemm>& list, int64_t tokens, int64_t in, int64_t out, int64_t repeats) {
  list.push_back({false, true, tokens, out, in, 1, repeats});   // y (tokens, out) = x W^T
  list.push_back({false, false, tokens, in, out, 1, repeats});  // dx (tokens, in) = dy W
  list.push_back({true, false, out, in, tokens, 1, repeats});   // dW (out, in) = dy^T x
}

}  // namespace

std::vector<Gemm> transformer_step_gemms(const TransformerShape& s) {
  std::vector<Gemm> list;
  const int64_t tokens = s.rows * s.length;
  const int64_t head_dim = s.dim / s.heads;
  const int64_t t = s.length;
  const int64_t per_layer = s.layers;
  // Per layer: the q, k, v and output projections, the two feed-forward Linears.
  add_linear(list, tokens, s.dim, s.dim, 4 * per_layer);
  add_linear(list, tokens, s.dim, s.ffn, per_layer);
  add_linear(list, tokens, s.ffn, s.dim, per_layer);
  // Attention, for each of rows x heads: S (t, t) = Q K^T, O (t, hd) = P V; backward dP = dO V^T, dV = P^T dO,
  // dQ = dS K, dK = dS^T Q.
  const int64_t pairs = s.rows * s.heads;
  list.push_back({false, true, t, t, head_dim, pairs, per_layer});
  list.push_back({false, false, t, head_dim, t, pairs, per_layer});
  list.push_back({false, true, t, t, head_dim, pairs, per_layer});
  list.push_back({true, false, t, head_dim, t, pairs, per_layer});
  list.push_back({false, false, t, head_dim, t, pairs, per_layer});
  list.push_back({true, false, t, head_dim, t, pairs, per_layer});
  // The output layer on the scored tokens: logits = h E^T (tied: E is the embedding table), dh = dlogits E,
  // dE = dlogits^T h. RoBERTa's head first runs its dense Linear on the same tokens.
  const int64_t scored = s.scored > 0 ? s.scored : tokens;
  if (s.mlm_head) add_linear(list, scored, s.dim, s.dim, 1);
  add_linear(list, scored, s.dim, s.vocab, 1);
  return list;
}

GemmFloor::GemmFloor(std::vector<Gemm> gemms) : gemms_(std::move(gemms)) {
  for (const Gemm& g : gemms_) {
    Buffers b;
    b.a.assign(static_cast<size_t>(g.batch * g.m * g.k), 0.01f);
    b.b.assign(static_cast<size_t>(g.batch * g.k * g.n), 0.02f);
    b.c.assign(static_cast<size_t>(g.batch * g.m * g.n), 0.0f);
    buffers_.push_back(std::move(b));
  }
}

void GemmFloor::run() {
  for (size_t i = 0; i < gemms_.size(); ++i) {
    const Gemm& g = gemms_[i];
    Buffers& buf = buffers_[i];
    // Leading dimensions of the stored (untransposed) row-major operands.
    const int lda = static_cast<int>(g.trans_a ? g.m : g.k);
    const int ldb = static_cast<int>(g.trans_b ? g.k : g.n);
    auto one = [&](int64_t j) {
      cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
                  static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), 1.0f,
                  buf.a.data() + j * g.m * g.k, lda, buf.b.data() + j * g.k * g.n, ldb, 0.0f,
                  buf.c.data() + j * g.m * g.n, static_cast<int>(g.n));
    };
    for (int64_t r = 0; r < g.repeats; ++r) {
      if (g.batch > 1 && 2.0 * static_cast<double>(g.m * g.n * g.k) < kSmallGemmFlops) {
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < g.batch; ++j) one(j);
      } else {
        for (int64_t j = 0; j < g.batch; ++j) one(j);
      }
    }
  }
}

double GemmFloor::flops() const {
  double total = 0;
  for (const Gemm& g : gemms_) total += g.flops();
  return total;
}

double stream_triad_bandwidth(int64_t floats, int trials) {
  std::vector<float> a(static_cast<size_t>(floats)), b(static_cast<size_t>(floats), 1.0f),
      c(static_cast<size_t>(floats), 2.0f);
  float* pa = a.data();
  const float* pb = b.data();
  const float* pc = c.data();
  const float scalar = 3.0f;
  double best = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < floats; ++i) pa[i] = pb[i] + scalar * pc[i];
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 12.0 * static_cast<double>(floats) / seconds);
  }
  return best;
}

double TrafficCount::bytes() const {
  return 16.0 * static_cast<double>(activation_floats) + 32.0 * static_cast<double>(parameters) +
         4.0 * static_cast<double>(input_floats);
}

namespace {

// EfficientNet-B0's stages (repeats, kernel, stride, expansion, in, out) and widths, the B0 table of
// docs/MODELS.md, written out here rather than read from the model; models::scale_width and scale_depth scale them.
struct Stage {
  int64_t repeats, kernel, stride, expansion, in, out;
};
constexpr Stage kB0Stages[] = {{1, 3, 1, 1, 32, 16},  {2, 3, 2, 6, 16, 24},  {2, 5, 2, 6, 24, 40},
                               {3, 3, 2, 6, 40, 80},  {3, 5, 1, 6, 80, 112}, {4, 5, 2, 6, 112, 192},
                               {1, 3, 1, 6, 192, 320}};
constexpr int64_t kStemChannels = 32, kHeadChannels = 1280;

// Output side of a 'same'-size convolution with this stride.
int64_t strided(int64_t size, int64_t stride) { return (size + stride - 1) / stride; }

}  // namespace

TrafficCount efficientnet_step_traffic(const EfficientNetShape& s) {
  TrafficCount count;
  int64_t maps = 0;  // floats per image
  auto conv_bn = [&](int64_t in, int64_t out, int64_t kernel, int64_t groups, int64_t plane, bool activation) {
    count.parameters += out * (in / groups) * kernel * kernel + 2 * out;  // weight, BN's scale and shift
    maps += out * plane * (activation ? 3 : 2);                           // conv, BN, swish outputs
  };
  count.input_floats = s.batch * s.in_channels * s.resolution * s.resolution;
  int64_t side = strided(s.resolution, s.stem_stride);
  int64_t channels = models::scale_width(kStemChannels, s.width);
  conv_bn(s.in_channels, channels, 3, 1, side * side, true);
  for (const Stage& stage : kB0Stages) {
    const int64_t out = models::scale_width(stage.out, s.width);
    for (int64_t r = 0; r < models::scale_depth(stage.repeats, s.depth); ++r) {
      const int64_t stride = r == 0 ? stage.stride : 1;
      const int64_t expanded = channels * stage.expansion;
      const int64_t squeezed = std::max<int64_t>(1, channels / 4);
      if (stage.expansion != 1) conv_bn(channels, expanded, 1, 1, side * side, true);
      side = strided(side, stride);
      const int64_t plane = side * side;
      conv_bn(expanded, expanded, stage.kernel, expanded, plane, true);
      // Squeeze-and-excitation: pooled, fc1, swish, fc2, sigmoid (per channel), then the scaled maps.
      count.parameters += squeezed * expanded + squeezed + expanded * squeezed + expanded;
      maps += expanded + 2 * squeezed + 2 * expanded + expanded * plane;
      conv_bn(expanded, out, 1, 1, plane, false);
      if (stride == 1 && channels == out) maps += out * plane * (s.drop_connect ? 2 : 1);  // (drop path,) sum
      channels = out;
    }
  }
  const int64_t head = models::scale_width(kHeadChannels, s.width);
  conv_bn(channels, head, 1, 1, side * side, true);
  maps += 2 * head + s.classes;  // pooled, dropout, logits
  count.parameters += head * s.classes + s.classes;
  count.activation_floats = maps * s.batch;
  return count;
}

}  // namespace qn::bench
