// Data-parallel training step (issue 10): the Transformer LM step of bench_models (transformer_lm_small,
// batch 8 x 256 per process, dropout 0.1, AdamW), with the gradients averaged across the processes of an
// mpirun launch by the GradientReducer while backward runs, as qn train does. Alone it is the one-process
// step; under `mpirun -np W` every process runs it on a batch of its own, so W processes do W times the work
// per step, and the scaling efficiency is (one process's step time) / (W processes' step time).
// bench/distributed_compare.sh runs both, and PyTorch's DistributedDataParallel (bench/peer/ddp_peer.py)
// the same way.
//
// Every process must run the same number of steps (each step has collectives), so the iteration count is
// fixed rather than timed, and only rank 0 reports.
#include <benchmark/benchmark.h>

#include "autograd/ops.h"
#include "bench/lm_step.h"
#include "core/allocator.h"
#include "kernels/threading.h"
#include "train/distributed/gradient_reducer.h"

namespace qn {
namespace {

distributed::ProcessGroup& world() {
  static std::unique_ptr<distributed::ProcessGroup> group = distributed::make_process_group();
  return *group;
}

void BM_TransformerLMStepDataParallel(benchmark::State& state) {
  distributed::ProcessGroup& group = world();
  bench::LmStep lm;
  lm.set_batch(8, 256, 1 + static_cast<uint64_t>(group.rank()));  // each process its own batch
  distributed::GradientReducer reducer(group, lm.lm->parameters());
  const auto step = [&] {
    lm.optimizer->zero_grad();
    const Tensor loss = lm.lm->loss(lm.inputs, lm.targets);
    loss.backward();
    reducer.finish();
    lm.optimizer->step();
    return loss.item<float>();
  };
  step();  // warm-up: the optimizer's state and the allocator's blocks
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["processes"] = group.world_size();
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(group.world_size() * 8 * 256),
                                                      benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(group.backend() + ", OpenBLAS core " + kernels::blas_info().core + ", " +
                 std::to_string(get_num_threads()) + " threads per process");
}
BENCHMARK(BM_TransformerLMStepDataParallel)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

// The transport alone: one all-reduce of `bytes` of f32 (the LM's gradients are 140 MB in buckets of 25 MB),
// started and waited for, as a bucket is. Bus bandwidth as NCCL reports it: 2 (W - 1) / W * bytes / time.
void BM_AllReduce(benchmark::State& state) {
  distributed::ProcessGroup& group = world();
  Tensor buffer = ones({state.range(0) / 4});
  distributed::all_reduce_sum(group, buffer);  // warm-up
  for (auto _ : state) distributed::all_reduce_sum(group, buffer);
  const double w = group.world_size();
  state.counters["bus_bytes_per_s"] = benchmark::Counter(2 * (w - 1) / w * static_cast<double>(state.range(0)),
                                                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(group.backend() + ", " + std::to_string(group.world_size()) + " processes");
}
BENCHMARK(BM_AllReduce)->Arg(1 << 20)->Arg(25 << 20)->Unit(benchmark::kMillisecond)->Iterations(20)->UseRealTime();

// Rank 0 reports; the others run the same steps silently.
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace
}  // namespace qn

int main(int argc, char** argv) {
  qn::keep_freed_heap_memory();  // as qn train runs
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (qn::world().rank() == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    qn::SilentReporter silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  return 0;
}
