// Quantization benchmarks (issue 5):
//   KMeans        a 2048x512 weight in blocks of 8 (131,072 blocks), K 256, 20 iterations — the workload of
//                 bench/peer/quant_peer.py; bench/quant_compare.sh runs both and prints the ratio
//   LinearNoise   Linear 512 -> 2048, forward + backward on 4096 rows, without Quant-Noise and with proxy
//                 noise p = 0.1, bs 8 (the ratio of the two is the cost of the noise)
#include <benchmark/benchmark.h>

#include "autograd/ops.h"
#include "kernels/threading.h"
#include "nn/linear.h"
#include "nn/quant/pq.h"

namespace qn {
namespace {

void BM_KMeans(benchmark::State& state) {
  Generator gen(0);
  const Tensor w = randn({2048, 512}, DType::f32, &gen);
  const nn::quant::BlockLayout layout = nn::quant::BlockLayout::of(nn::quant::LayerKind::kLinear, w.shape(), 8);
  nn::quant::KMeansOptions o;
  o.n_centroids = 256;
  o.n_iter = 20;
  o.generator = &gen;
  for (auto _ : state) {
    const nn::quant::PqCodebook pq = nn::quant::pq_encode(w, layout, o);
    benchmark::DoNotOptimize(pq.objective.back());
  }
  state.SetLabel("OpenBLAS core " + kernels::blas_info().core);
}
BENCHMARK(BM_KMeans)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_LinearNoise(benchmark::State& state) {
  const double p = static_cast<double>(state.range(0)) / 100.0;
  Generator gen(0);
  nn::quant::QuantNoise noise;
  noise.p = p;
  noise.block_size = 8;
  noise.generator = &gen;
  nn::Linear layer(nn::LinearOptions(512, 2048).quant_noise(noise));
  const Tensor x = randn({4096, 512}, DType::f32, &gen);
  for (auto _ : state) {
    layer.zero_grad();
    sum(layer(x)).backward();
    benchmark::DoNotOptimize(layer.weight.grad().data_ptr<float>());
  }
  state.SetLabel(p > 0 ? "proxy noise p=0.1 bs=8" : "no noise");
}
BENCHMARK(BM_LinearNoise)->Arg(0)->Arg(10)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace qn

BENCHMARK_MAIN();
