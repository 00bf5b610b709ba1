// The cost of the graph: forward + backward of a 6-layer, 512-wide MLP (Linear + ReLU) at batch 64,
// against the same 17 GEMMs called directly (6 forward, 11 backward: the input needs no gradient),
// which is the floor.
//   build/bin/bench_autograd --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "core/generator.h"
#include "kernels/elementwise.h"
#include "kernels/threading.h"

namespace qn {
namespace {

constexpr int kLayers = 6;
constexpr int64_t kWidth = 512;
constexpr int64_t kBatch = 64;

void BM_MlpForwardBackward(benchmark::State& state) {
  Generator gen(1);
  std::vector<Tensor> weights, biases;
  for (int l = 0; l < kLayers; ++l) {
    weights.push_back(mul(randn({kWidth, kWidth}, DType::f32, &gen), 0.04).set_requires_grad(true));
    biases.push_back(zeros({kWidth}).set_requires_grad(true));
  }
  const Tensor x = randn({kBatch, kWidth}, DType::f32, &gen);
  for (auto _ : state) {
    Tensor h = x;
    for (int l = 0; l < kLayers; ++l) h = relu(add(matmul(h, weights[l]), biases[l]));
    sum(h).backward();
    for (int l = 0; l < kLayers; ++l) {
      weights[l].zero_grad();
      biases[l].zero_grad();
    }
  }
}

// The same products on preallocated buffers: h = x W per layer; then per layer dW = X^T dY and, above
// the first layer, dX = dY W^T.
void BM_MlpGemmsOnly(benchmark::State& state) {
  std::vector<Tensor> weights, acts, grads, weight_grads;
  for (int l = 0; l < kLayers; ++l) {
    weights.push_back(randn({kWidth, kWidth}));
    weight_grads.push_back(empty({kWidth, kWidth}));
  }
  for (int l = 0; l <= kLayers; ++l) {
    acts.push_back(randn({kBatch, kWidth}));
    grads.push_back(randn({kBatch, kWidth}));
  }
  kernels::sync_blas_threads();
  auto gemm = [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, const Tensor& a, const Tensor& b, Tensor& c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                a.data_ptr<float>(), ta ? m : k, b.data_ptr<float>(), tb ? k : n, 0.0f, c.data_ptr<float>(), n);
  };
  for (auto _ : state) {
    for (int l = 0; l < kLayers; ++l) gemm(false, false, kBatch, kWidth, kWidth, acts[l], weights[l], acts[l + 1]);
    for (int l = kLayers - 1; l >= 0; --l) {
      if (l > 0) gemm(false, true, kBatch, kWidth, kWidth, grads[l + 1], weights[l], grads[l]);
      gemm(true, false, kWidth, kWidth, kBatch, acts[l], grads[l + 1], weight_grads[l]);
    }
    benchmark::ClobberMemory();
  }
}

BENCHMARK(BM_MlpForwardBackward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpGemmsOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

// One Transformer LM layer's attention (8 rows x 8 heads, 256 causal positions, head dim 64, dropout 0.1) forward
// and backward: the fused CPU kernel (scaled_dot_product_attention) against the same attention composed of the
// recorded ops it replaces (product, scale, causal mask, softmax, dropout, product), as it ran before the kernel.
constexpr int64_t kRows = 8, kHeads = 8, kLength = 256, kHeadDim = 64;

struct AttentionInputs {
  AttentionInputs() {
    Generator gen(2);
    for (Tensor* t : {&q, &k, &v, &g}) *t = randn({kRows, kLength, kHeads * kHeadDim}, DType::f32, &gen);
    for (Tensor* t : {&q, &k, &v}) t->set_requires_grad(true);
  }
  // (N, L, H * E) rows -> (N, H, L, E) heads, as MultiheadAttention splits them.
  static Tensor split(const Tensor& rows) { return transpose(reshape(rows, {kRows, kLength, kHeads, kHeadDim}), 1, 2); }
  Tensor q, k, v, g;
};

void BM_AttentionFused(benchmark::State& state) {
  AttentionInputs in;
  Generator gen(3);
  for (auto _ : state) {
    AttentionOptions o;
    o.causal = true;
    o.dropout = 0.1;
    o.training = true;
    o.gen = &gen;
    const Tensor out = scaled_dot_product_attention(in.split(in.q), in.split(in.k), in.split(in.v), o);
    out.backward(in.split(in.g));
  }
}
BENCHMARK(BM_AttentionFused)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AttentionComposed(benchmark::State& state) {
  AttentionInputs in;
  Generator gen(3);
  const Tensor positions = arange(0.0, kLength, 1.0, DType::f32);
  const Tensor future =
      kernels::compare(kernels::CompareOp::gt, positions.view({1, kLength}), positions.view({kLength, 1}));
  for (auto _ : state) {
    Tensor scores = mul(matmul(in.split(in.q), transpose(in.split(in.k), -2, -1)), 0.125);
    scores = masked_fill(scores, future, -INFINITY);
    const Tensor weights = dropout(softmax(scores, -1), 0.1, true, &gen);
    const Tensor out = matmul(weights, in.split(in.v));
    out.backward(in.split(in.g));
  }
}
BENCHMARK(BM_AttentionComposed)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace qn

BENCHMARK_MAIN();
