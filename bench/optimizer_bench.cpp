// One AdamW step over transformer_lm_small's parameters (6 layers, d 512, 32,000 tied words: 35.7M f32 values):
// composed of elementwise ops, one pass each (the engine's step before its fused kernels), against the fused
// step (kernels/optimizer.h), in one run. The floor is memory: the fused step reads the parameter, its gradient and
// both moments and writes three of them back, 28 bytes a value; BM_StreamTriad measures what this machine moves.
//   build/bin/bench_optimizer --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>

#include <cmath>

#include "core/generator.h"
#include "core/parallel.h"
#include "models/registry.h"
#include "tests/train/unfused_optimizers.h"
#include "train/adam.h"

namespace qn {
namespace {

// The model's parameters with gradients, and AdamW's moments.
struct Problem {
  models::BuiltModel model = models::build_model("transformer_lm_small");
  std::vector<Tensor> params = model.module->parameters();
  std::vector<Tensor> m, v;
  int64_t values = 0;
  Problem() {
    Generator gen(1);
    for (Tensor& p : params) {
      p.set_grad(mul(randn(p.shape(), DType::f32, &gen), 1e-3));
      m.push_back(zeros_like(p));
      v.push_back(zeros_like(p));
      values += p.numel();
    }
  }
};

kernels::AdamStep adamw_step(int64_t t) {
  kernels::AdamStep s;
  s.lr = 1e-4;
  s.weight_decay = 0.01;
  s.decoupled_weight_decay = true;
  s.bias_correction1 = 1 - std::pow(s.beta1, static_cast<double>(t));
  s.bias_correction2 = 1 - std::pow(s.beta2, static_cast<double>(t));
  return s;
}

void report(benchmark::State& state, int64_t values) {
  state.counters["values"] = static_cast<double>(values);
  state.counters["bytes_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 28.0 * static_cast<double>(values), benchmark::Counter::kIsRate);
}

void BM_AdamWComposed(benchmark::State& state) {
  Problem problem;
  int64_t t = 0;
  testing::unfused_adam(problem.params[0], problem.params[0].grad(), problem.m[0], problem.v[0], adamw_step(++t));
  for (auto _ : state) {
    const kernels::AdamStep s = adamw_step(++t);
    for (size_t i = 0; i < problem.params.size(); ++i) {
      testing::unfused_adam(problem.params[i], problem.params[i].grad(), problem.m[i], problem.v[i], s);
    }
  }
  report(state, problem.values);
}
BENCHMARK(BM_AdamWComposed)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// The optimizer itself, as the Trainer calls it.
void BM_AdamWFused(benchmark::State& state) {
  Problem problem;
  train::Adam adam({{problem.params, 1e-4, 0.01}}, train::adamw_options());
  adam.step();  // makes the moments
  for (auto _ : state) adam.step();
  report(state, problem.values);
}
BENCHMARK(BM_AdamWFused)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// a = b + s c over three arrays as large as the step's moments: the bandwidth the floor is measured with.
void BM_StreamTriad(benchmark::State& state) {
  const int64_t n = Problem().values;
  std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n), 1.0f), c(static_cast<size_t>(n), 2.0f);
  for (auto _ : state) {
    parallel_for(0, n, int64_t{1} << 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) a[i] = b[i] + 3.0f * c[i];
    });
    benchmark::DoNotOptimize(a.data());
  }
  state.counters["bytes_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 12.0 * static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StreamTriad)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace
}  // namespace qn

BENCHMARK_MAIN();
