// Model training steps (issue 6): forward, cross-entropy, backward and an AdamW step, on the same shapes as
// bench/peer/models_peer.py (PyTorch; bench/models_compare.sh runs both in one go and prints the ratios).
//   EfficientNetB0Step   torchvision-variant EfficientNet-B0, batch 8 at 224x224, 1000 classes, train mode
#include <benchmark/benchmark.h>

#include "autograd/ops.h"
#include "kernels/threading.h"
#include "models/efficientnet.h"
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

}  // namespace
}  // namespace qn

BENCHMARK_MAIN();
