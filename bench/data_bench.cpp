// The ImageNet training input pipeline on the Imagenette subset of ../shared/data: read + JPEG decode +
// RandomResizedCrop(224) + horizontal flip + normalize, stacked into batches of 64 by the worker loader. The
// same workload as bench/peer/data_peer.py (torchvision's ImageFolder and DataLoader with the same number of
// workers); bench/data_compare.sh runs both alternately and prints the ratios.
//   ImagenetteTrainPipeline/workers:N   images per second over batches 2..21 of an epoch (the first batch,
//                                       while the pipeline fills, is not timed; neither is it in the peer)
#include <benchmark/benchmark.h>

#include <filesystem>

#include "data/image_batches.h"
#include "data/loader.h"

namespace qn::data {
namespace {

constexpr int64_t kBatch = 64;
constexpr int kTimedBatches = 20;

std::string imagenette_folder() {
  const char* root = std::getenv("QN_DATA");
  return (std::filesystem::path(root ? root : QN_SOURCE_DIR "/../shared/data") / "imagenette-224" / "val").string();
}

void BM_ImagenetteTrainPipeline(benchmark::State& state) {
  const std::string folder = imagenette_folder();
  if (!std::filesystem::exists(folder)) {
    state.SkipWithError(
        ("no Imagenette at " + folder + "; fetch it with: bash tools/fetch_data.sh imagenette-224 (or set QN_DATA)")
            .c_str());
    return;
  }
  const auto images = std::make_shared<ImageFolder>(ImageFolder::from_folder(folder));
  const ImageBatchMaker maker(images, ImageTransformOptions{});
  auto plan = [n = images->size()](int64_t epoch) {
    FixedBatchOptions options;
    options.batch_size = kBatch;
    return fixed_size_batches(n, epoch, options);
  };
  Loader<ImageBatch> loader(plan, maker, {static_cast<int>(state.range(0)), 2});
  int64_t epoch = 0;
  for (auto _ : state) {
    state.PauseTiming();
    loader.begin_epoch(epoch++);
    benchmark::DoNotOptimize(loader.next().images.data_ptr<float>());
    state.ResumeTiming();
    for (int k = 0; k < kTimedBatches; ++k) benchmark::DoNotOptimize(loader.next().images.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * kTimedBatches * kBatch);
}
BENCHMARK(BM_ImagenetteTrainPipeline)
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0)
    ->UseRealTime();

}  // namespace
}  // namespace qn::data

BENCHMARK_MAIN();
