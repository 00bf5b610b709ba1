// Kernel benchmarks: matmul GFLOP/s at 256..2048 against cblas_sgemm called directly (same library:
// the engine's overhead must be negligible), and elementwise add / softmax over 16M floats against a
// plain OpenMP loop with the same memory traffic (the bandwidth these ops can reach); depthwise convolutions
// against PyTorch (bench/peer/kernels_peer.py).
//   build/bin/bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "core/generator.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/softmax.h"
#include "kernels/threading.h"

namespace qn::kernels {
namespace {

constexpr int64_t kElements = int64_t{1} << 24;  // 16M floats, 64 MiB per tensor

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = randn({n, n});
  Tensor b = randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).raw_data());
  set_flops(state, 2.0 * n * n * n);
}

void BM_CblasSgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = randn({n, n});
  Tensor b = randn({n, n});
  Tensor c = empty({n, n});
  sync_blas_threads();
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data_ptr<float>(), n, b.data_ptr<float>(),
                n, 0.0f, c.data_ptr<float>(), n);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * n * n * n);
}

// A transposed operand goes to GEMM as a flag: it should cost what the plain product costs.
void BM_MatmulTransposed(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = randn({n, n});
  Tensor b = randn({n, n}).t();
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).raw_data());
  set_flops(state, 2.0 * n * n * n);
}

void set_bytes(benchmark::State& state, int64_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}

// out = a + b into a preallocated output: 2 reads + 1 write per element.
void BM_AddOut(benchmark::State& state) {
  Tensor a = randn({kElements});
  Tensor b = randn({kElements});
  Tensor out = empty({kElements});
  for (auto _ : state) {
    binary_out(BinaryOp::add, a, b, out);
    benchmark::ClobberMemory();
  }
  set_bytes(state, 3 * kElements * 4);
}

// add() allocating its output every call, as a training step does.
void BM_Add(benchmark::State& state) {
  Tensor a = randn({kElements});
  Tensor b = randn({kElements});
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b).raw_data());
  set_bytes(state, 3 * kElements * 4);
}

// The memory-bandwidth reference: the same traffic as BM_AddOut in the simplest parallel loop.
void BM_StreamAddBaseline(benchmark::State& state) {
  Tensor a = randn({kElements});
  Tensor b = randn({kElements});
  Tensor out = empty({kElements});
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* po = out.data_ptr<float>();
  for (auto _ : state) {
#pragma omp parallel for simd num_threads(get_num_threads())
    for (int64_t i = 0; i < kElements; ++i) po[i] = pa[i] + pb[i];
    benchmark::ClobberMemory();
  }
  set_bytes(state, 3 * kElements * 4);
}

// Softmax over rows of the last dim, 16M floats in all: reads the input twice and writes once.
void BM_Softmax(benchmark::State& state) {
  const int64_t cols = state.range(0);
  Tensor x = randn({kElements / cols, cols});
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x, -1).raw_data());
  set_bytes(state, 3 * kElements * 4);
}

// Times forward, input gradient and weight gradient of a convolution; returns the output.
Tensor conv2d_step(benchmark::State& state, const Tensor& x, const Tensor& w, const Conv2dParams& params) {
  Tensor y = conv2d(x, w, Tensor(), params);
  Tensor dy = randn(y.shape());
  for (auto _ : state) {
    benchmark::DoNotOptimize(conv2d(x, w, Tensor(), params).raw_data());
    benchmark::DoNotOptimize(conv2d_backward_input(dy, w, x.shape(), params).raw_data());
    benchmark::DoNotOptimize(conv2d_backward_weight(dy, x, w.shape(), params).raw_data());
  }
  return y;
}

// Depthwise convolution, forward and both gradients, batch 64, at the shapes of EfficientNet on 28x28 images
// (stem stride 2): args channels, plane size, kernel, stride.
void BM_DepthwiseConv(benchmark::State& state) {
  const int64_t channels = state.range(0), size = state.range(1), kernel = state.range(2), stride = state.range(3);
  const auto pad = same_padding(size, kernel, stride);
  const Conv2dParams params =
      Conv2dParams{}.with_groups(channels).with_stride(stride).with_padding(pad[0], pad[1], pad[0], pad[1]);
  Tensor x = randn({64, channels, size, size});
  Tensor w = randn({channels, 1, kernel, kernel});
  const Tensor y = conv2d_step(state, x, w, params);
  set_flops(state, 3.0 * 2 * static_cast<double>(y.numel()) * kernel * kernel);
}

BENCHMARK(BM_DepthwiseConv)
    ->Args({96, 14, 3, 2})
    ->Args({144, 7, 5, 1})
    ->Args({240, 4, 3, 2})
    ->Args({672, 2, 5, 1})
    ->Args({1152, 1, 3, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// Pointwise (1x1) convolution, forward and both gradients, batch 64, at the main job's shapes (EfficientNet on
// 28x28 images): args input channels, output channels, plane size. The tail's planes are 2x2 and 1x1, and every
// squeeze-excitation convolution works on a 1x1 plane.
void BM_PointwiseConv(benchmark::State& state) {
  const int64_t in = state.range(0), out = state.range(1), size = state.range(2);
  const Conv2dParams params{};
  Tensor x = randn({64, in, size, size});
  Tensor w = randn({out, in, 1, 1});
  const Tensor y = conv2d_step(state, x, w, params);
  set_flops(state, 3.0 * 2 * static_cast<double>(y.numel()) * in);
}

BENCHMARK(BM_PointwiseConv)
    ->Args({16, 96, 14})
    ->Args({144, 40, 4})
    ->Args({80, 480, 2})
    ->Args({672, 192, 1})
    ->Args({320, 1280, 1})
    ->Args({1152, 48, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Matmul)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CblasSgemm)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MatmulTransposed)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AddOut)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Add)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StreamAddBaseline)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Softmax)->Arg(1024)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime();

void add_context() {
  const BlasInfo blas = blas_info();
  benchmark::AddCustomContext("openblas_core", blas.core);
  benchmark::AddCustomContext("openblas_threading", blas.parallel);
  benchmark::AddCustomContext("threads", std::to_string(get_num_threads()));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", coretype ? coretype : "(unset)");
}

}  // namespace
}  // namespace qn::kernels

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  qn::kernels::add_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
