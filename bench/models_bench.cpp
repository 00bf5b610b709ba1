// Model training steps (issue 6): forward, cross-entropy, backward and an AdamW step, on the same shapes as
// bench/peer/models_peer.py (PyTorch; bench/models_compare.sh runs both in one go and prints the ratios).
//   EfficientNetB0Step   torchvision-variant EfficientNet-B0, batch 8 at 224x224, 1000 classes, train mode
//   TransformerLMStep    transformer_lm_small (6 pre-LN layers, d 512, 8 heads, FFN 2048, 32,000 words, tied
//                        embeddings), batch 8 x 256 tokens, dropout 0.1 everywhere
//   RobertaMlmStep       RoBERTa of the same size (post-LN, GELU, 130 positions), MLM on 15% of batch 8 x 128
#include <benchmark/benchmark.h>

#include "autograd/ops.h"
#include "bench/lm_step.h"
#include "kernels/threading.h"
#include "models/efficientnet.h"
#include "models/roberta.h"
#include "models/transformer_lm.h"
#include "train/adam.h"

namespace qn {
namespace {

void BM_EfficientNetB0Step(benchmark::State& state) {
  manual_seed(0);
  models::EfficientNetConfig config = models::EfficientNetConfig::named("efficientnet_b0");
  config.torchvision = true;
  models::EfficientNet net(config);
  net.train();
  train::Adam optimizer({{net.parameters(), 1e-3, 0.01}}, train::adamw_options());
  Generator gen(1);
  const Tensor images = randn({8, 3, 224, 224}, DType::f32, &gen);
  const Tensor labels = randint(0, 1000, {8}, DType::i64, &gen);
  for (auto _ : state) {
    optimizer.zero_grad();
    const Tensor loss = cross_entropy(net(images), labels);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetLabel("OpenBLAS core " + kernels::blas_info().core);
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

}  // namespace
}  // namespace qn

BENCHMARK_MAIN();
