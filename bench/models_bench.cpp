// Model training steps (issue 6): forward, cross-entropy, backward and an AdamW step, on the same shapes as
// bench/peer/models_peer.py (PyTorch; bench/models_compare.sh runs both in one go and prints the ratios).
//   EfficientNetB0Step   torchvision-variant EfficientNet-B0, batch 8 at 224x224, 1000 classes, train mode
//   TransformerLMStep    transformer_lm_small (6 pre-LN layers, d 512, 8 heads, FFN 2048, 32,000 words, tied
//                        embeddings), batch 8 x 256 tokens, dropout 0.1 everywhere
//   RobertaMlmStep       RoBERTa of the same size (post-LN, GELU, 130 positions), MLM on 15% of batch 8 x 128
//   FashionMnistStep     the main job's model (tools/main.sh): EfficientNet width 1, depth 0.25, stem stride 2, on
//                        batch 64 of 1 x 28 x 28, 10 classes, proxy Quant-Noise p 0.05 in blocks of 8, Adam
// and the floors each step is measured against (bench/step_floors.h): *GemmFloor runs the step's matrix products
// alone; *TrafficFloor reports, as its time, the step's minimum memory traffic over the STREAM triad bandwidth it
// measures.
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <string>

#include "autograd/ops.h"
#include "autograd/profile.h"
#include "bench/lm_step.h"
#include "bench/step_floors.h"
#include "kernels/threading.h"
#include "models/efficientnet.h"
#include "models/roberta.h"
#include "models/transformer_lm.h"
#include "train/adam.h"

namespace qn {
namespace {

// Training steps of net on a fixed batch of `batch` random images (its config's channels and resolution) and labels.
void run_image_steps(benchmark::State& state, models::EfficientNet& net, train::Optimizer& optimizer, int64_t batch) {
  net.train();
  Generator gen(1);
  const models::EfficientNetConfig& c = net.config;
  const Tensor images = randn({batch, c.in_channels, c.resolution, c.resolution}, DType::f32, &gen);
  const Tensor labels = randint(0, c.num_classes, {batch}, DType::i64, &gen);
  for (auto _ : state) {
    optimizer.zero_grad();
    const Tensor loss = cross_entropy(net(images), labels);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(batch * state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel("OpenBLAS core " + kernels::blas_info().core);
}

void BM_EfficientNetB0Step(benchmark::State& state) {
  manual_seed(0);
  models::EfficientNetConfig config = models::EfficientNetConfig::named("efficientnet_b0");
  config.torchvision = true;
  models::EfficientNet net(config);
  train::Adam optimizer({{net.parameters(), 1e-3, 0.01}}, train::adamw_options());
  run_image_steps(state, net, optimizer, 8);
}
BENCHMARK(BM_EfficientNetB0Step)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

// Token ids in [4, vocab) (no padding), from a fixed generator.
Tensor token_batch(int64_t rows, int64_t length, int64_t vocab, uint64_t seed) {
  Generator gen(seed);
  return randint(4, vocab, {rows, length}, DType::i64, &gen);
}

void BM_TransformerLMStep(benchmark::State& state) {
  bench::LmStep lm;
  lm.set_batch(8, 256, 1);
  for (auto _ : state) {
    lm.optimizer->zero_grad();
    const Tensor loss = lm.lm->loss(lm.inputs, lm.targets);
    loss.backward();
    lm.optimizer->step();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetLabel("OpenBLAS core " + kernels::blas_info().core);
}
BENCHMARK(BM_TransformerLMStep)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

// Quant-Noise's cost inside the LM step (p 0.1, blocks of 8 for proxy noise): the forward noise operations
// (nn/quant/quant_noise.h's timing) and their backward (the straight_through op, autograd/profile.h), summed over
// 50 steps, as a fraction of the steps' time. Arg 0: proxy noise; 1: scalar int4 noise.
void BM_TransformerLMNoiseShare(benchmark::State& state) {
  nn::quant::QuantNoise noise;
  noise.p = 0.1;
  noise.block_size = 8;
  noise.mode = state.range(0) == 0 ? nn::quant::NoiseMode::kProxy : nn::quant::NoiseMode::kInt4;
  bench::LmStep lm(noise);
  lm.set_batch(8, 256, 1);
  nn::quant::reset_noise_time();
  autograd::reset_backward_profile();
  nn::quant::set_noise_timing(true);
  autograd::set_backward_profiling(true);
  double step_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    lm.optimizer->zero_grad();
    const Tensor loss = lm.lm->loss(lm.inputs, lm.targets);
    loss.backward();
    lm.optimizer->step();
    benchmark::DoNotOptimize(loss.item<float>());
    step_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  nn::quant::set_noise_timing(false);
  autograd::set_backward_profiling(false);
  const std::map<std::string, double> backward = autograd::backward_seconds();
  const double forward = nn::quant::noise_forward_seconds();
  const double straight_through = backward.count("straight_through") ? backward.at("straight_through") : 0.0;
  const double steps = static_cast<double>(state.iterations());
  state.counters["noise_fwd_ms"] = forward / steps * 1e3;
  state.counters["noise_bwd_ms"] = straight_through / steps * 1e3;
  state.counters["noise_share_%"] = 100.0 * (forward + straight_through) / step_seconds;
  state.SetLabel(std::string(nn::quant::noise_mode_name(noise.mode)) + ", OpenBLAS core " + kernels::blas_info().core);
}
BENCHMARK(BM_TransformerLMNoiseShare)->Arg(0)->Arg(1)->Iterations(50)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RobertaMlmStep(benchmark::State& state) {
  manual_seed(0);
  models::RobertaConfig config = models::RobertaConfig::named("roberta_base");
  config.vocab_size = 32000;
  config.layers = 6;
  config.dim = 512;
  config.heads = 8;
  config.ffn_dim = 2048;
  config.max_positions = 130;
  models::Roberta model(config);
  model.train();
  train::Adam optimizer({{model.parameters(), 1e-3, 0.01}}, train::adamw_options());
  const Tensor ids = token_batch(8, 128, config.vocab_size, 2);
  // MLM targets on every 7th token (~15%), -100 elsewhere.
  Tensor targets = full({8, 128}, -100.0, DType::i64);
  for (int64_t i = 0; i < ids.numel(); i += 7) targets.data_ptr<int64_t>()[i] = ids.data_ptr<int64_t>()[i];
  for (auto _ : state) {
    optimizer.zero_grad();
    const Tensor loss = model.mlm_loss(ids, targets);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetLabel("OpenBLAS core " + kernels::blas_info().core);
}
BENCHMARK(BM_RobertaMlmStep)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

models::EfficientNetConfig fashion_mnist_config() {
  models::EfficientNetConfig config = models::EfficientNetConfig::named("efficientnet_tiny");
  config.width = 1.0;
  config.stem_stride = 2;
  config.drop_connect = 0.0;
  config.dropout = 0.0;
  config.in_channels = 1;
  config.num_classes = 10;
  config.resolution = 28;
  config.quant_noise.p = 0.05;
  config.quant_noise.block_size = 8;
  return config;
}

void BM_FashionMnistStep(benchmark::State& state) {
  manual_seed(0);
  models::EfficientNet net(fashion_mnist_config());
  train::Adam optimizer({{net.parameters(), 4e-3, 0.0}}, train::AdamOptions{});
  run_image_steps(state, net, optimizer, 64);
}
BENCHMARK(BM_FashionMnistStep)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

void run_gemm_floor(benchmark::State& state, const bench::TransformerShape& shape) {
  bench::GemmFloor floor(bench::transformer_step_gemms(shape));
  for (auto _ : state) floor.run();
  state.counters["GFLOP"] = floor.flops() * 1e-9;
  state.counters["GFLOP/s"] =
      benchmark::Counter(floor.flops() * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel("OpenBLAS core " + kernels::blas_info().core);
}

void BM_TransformerLMGemmFloor(benchmark::State& state) { run_gemm_floor(state, {}); }
BENCHMARK(BM_TransformerLMGemmFloor)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

void BM_RobertaMlmGemmFloor(benchmark::State& state) {
  bench::TransformerShape shape;
  shape.length = 128;
  shape.scored = (8 * 128 + 6) / 7;  // every 7th token, as BM_RobertaMlmStep masks
  shape.mlm_head = true;
  run_gemm_floor(state, shape);
}
BENCHMARK(BM_RobertaMlmGemmFloor)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

// Each iteration measures the triad (three 128 MiB arrays) and reports traffic / bandwidth as its time.
void run_traffic_floor(benchmark::State& state, const bench::EfficientNetShape& shape) {
  const bench::TrafficCount traffic = bench::efficientnet_step_traffic(shape);
  double bandwidth = 0;
  for (auto _ : state) {
    bandwidth = bench::stream_triad_bandwidth(int64_t{32} << 20, 3);
    state.SetIterationTime(traffic.bytes() / bandwidth);
  }
  state.counters["traffic_MB"] = traffic.bytes() * 1e-6;
  state.counters["triad_GB/s"] = bandwidth * 1e-9;
}

void BM_EfficientNetB0TrafficFloor(benchmark::State& state) { run_traffic_floor(state, {}); }
BENCHMARK(BM_EfficientNetB0TrafficFloor)->Unit(benchmark::kMillisecond)->Iterations(5)->UseManualTime();

void BM_FashionMnistTrafficFloor(benchmark::State& state) {
  const models::EfficientNetConfig c = fashion_mnist_config();
  run_traffic_floor(state, {c.width, c.depth, 64, c.resolution, c.in_channels, c.stem_stride, c.num_classes, false});
}
BENCHMARK(BM_FashionMnistTrafficFloor)->Unit(benchmark::kMillisecond)->Iterations(5)->UseManualTime();

}  // namespace
}  // namespace qn

BENCHMARK_MAIN();
