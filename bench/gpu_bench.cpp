// GPU benchmarks (issue 9), on cuda:0; each one skips where no GPU is visible. The peer is bench/peer/gpu_peer.py.
//   GpuMatmul/P/N            N x N x N through kernels::matmul (cuBLAS): P 0 f32, 1 TF32, 2 bf16 operands
//   GpuLmStep/A              the paper's Wikitext-103 LM (transformer_lm_wiki103: 16 layers, d 1024, adaptive
//                            input and softmax), 3072 tokens a step
//   GpuRobertaStep/A         RoBERTa-base, MLM on 15% of batch 32 x 512
//   GpuEfficientNetB3Step/A  EfficientNet-B3, batch 64 at 300x300
// A: 0 f32, 1 bf16 autocast (--amp bf16). A step is forward, loss, backward and an AdamW update. Counters: tokens or
// images a second, and for the sequence models the MFU: 6 x parameters x tokens a step (the usual estimate, without
// attention's own products) over QN_GPU_PEAK_TFLOPS (default 989, an H100 SXM's dense bf16; 494 for TF32).
// Each benchmark runs for --benchmark_min_time seconds (bench/RESULTS.md uses 10; the GPU check, 2).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <optional>

#include "autograd/ops.h"
#include "core/cuda_memory.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "models/registry.h"
#include "train/adam.h"

namespace qn {
namespace {

const Device kGpu = Device::cuda(0);

bool skip_without_gpu(benchmark::State& state) {
  if (cuda::available()) return false;
  state.SkipWithError("no GPU visible");
  return true;
}

double peak_flops() {
  const char* peak = std::getenv("QN_GPU_PEAK_TFLOPS");
  return (peak != nullptr ? std::atof(peak) : 989.0) * 1e12;
}

void BM_GpuMatmul(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int precision = static_cast<int>(state.range(0));
  const int64_t n = state.range(1);
  const DType dtype = precision == 2 ? DType::bf16 : DType::f32;
  kernels::set_allow_tf32(precision == 1);
  Generator gen(1);
  const Tensor a = randn({n, n}, DType::f32, &gen).to(dtype).to(kGpu);
  const Tensor b = randn({n, n}, DType::f32, &gen).to(dtype).to(kGpu);
  for (auto _ : state) {
    const Tensor c = kernels::matmul(a, b);
    cuda::synchronize(0);
    benchmark::DoNotOptimize(c);
  }
  kernels::set_allow_tf32(false);
  state.counters["TFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(n * n * n) * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GpuMatmul)->ArgsProduct({{0, 1, 2}, {4096, 8192}})->Unit(benchmark::kMillisecond)->UseRealTime();

// One model's training step on the GPU, `per_step` tokens or images a step.
void run_steps(benchmark::State& state, const char* arch, const nlohmann::json& config, const Tensor& inputs,
               const Tensor& targets, double per_step, const char* unit, bool sequence_model) {
  if (skip_without_gpu(state)) return;
  const std::optional<DType> amp = state.range(0) == 1 ? std::optional<DType>(DType::bf16) : std::nullopt;
  manual_seed(0);
  models::BuiltModel model = models::build_model(arch, config);
  model.to(kGpu);
  model.module->train();
  const std::vector<Tensor> params = model.module->parameters();
  train::Adam optimizer({train::ParamGroup{params, 1e-4, 0.01}}, train::adamw_options());
  const Tensor x = inputs.to(kGpu), y = targets.to(kGpu);
  const auto step = [&] {
    optimizer.zero_grad();
    Tensor loss;
    {
      const AutocastGuard autocast(amp);
      loss = model.loss(x, y);
    }
    loss.backward();
    optimizer.step();
    return loss.item<float>();  // waits for the step
  };
  step();  // warm-up: cuDNN's algorithm search, the allocator's first blocks
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters[unit] = benchmark::Counter(per_step, benchmark::Counter::kIsIterationInvariantRate);
  if (sequence_model) {
    double parameters = 0;
    for (const Tensor& p : params) parameters += static_cast<double>(p.numel());
    state.counters["MFU"] =
        benchmark::Counter(6.0 * parameters * per_step / peak_flops(), benchmark::Counter::kIsIterationInvariantRate);
  }
}

void BM_GpuLmStep(benchmark::State& state) {
  Generator gen(2);
  const Tensor tokens = randint(4, 267744, {1, 3073}, DType::i64, &gen);
  run_steps(state, "transformer_lm_wiki103", nullptr, tokens.narrow(1, 0, 3072).contiguous(),
            tokens.narrow(1, 1, 3072).contiguous(), 3072, "tokens/s", true);
}
BENCHMARK(BM_GpuLmStep)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GpuRobertaStep(benchmark::State& state) {
  Generator gen(3);
  const Tensor ids = randint(4, 50265, {32, 512}, DType::i64, &gen);
  Tensor targets = full({32, 512}, -100.0, DType::i64);
  const Tensor masked = kernels::compare(kernels::CompareOp::lt, rand({32, 512}, DType::f32, &gen), 0.15);
  targets = kernels::where(masked, ids, targets);
  run_steps(state, "roberta_base", nullptr, ids, targets, 32 * 512, "tokens/s", true);
}
BENCHMARK(BM_GpuRobertaStep)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GpuEfficientNetB3Step(benchmark::State& state) {
  Generator gen(4);
  run_steps(state, "efficientnet_b3", nullptr, randn({64, 3, 300, 300}, DType::f32, &gen),
            randint(0, 1000, {64}, DType::i64, &gen), 64, "images/s", false);
}
BENCHMARK(BM_GpuEfficientNetB3Step)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace qn

BENCHMARK_MAIN();
