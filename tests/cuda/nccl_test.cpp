// The NCCL process group on one GPU: the group of one that `qn train --device cuda` runs, so that a single GPU
// takes the code path of many (collectives on their own stream, ordered with the compute stream through events),
// and the gradient reducer with its buckets on the GPU. Label `cuda`: skipped where no GPU is visible.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "core/generator.h"
#include "nn/linear.h"
#include "tests/cuda/cuda_test.h"
#include "train/distributed/gradient_reducer.h"
#include "train/distributed/process_group.h"

namespace qn::distributed {
namespace {

using testing::at;

#define QN_REQUIRE_NCCL()                                             \
  do {                                                                \
    QN_REQUIRE_CUDA();                                                \
    if (!built_with_nccl()) GTEST_SKIP() << "this build has no NCCL"; \
  } while (0)

TEST(Nccl, AGroupOfOneReducesBroadcastsAndWaits) {
  QN_REQUIRE_NCCL();
  const std::unique_ptr<ProcessGroup> group = make_process_group(Device::cuda(0));
  EXPECT_EQ(group->backend(), "nccl");
  EXPECT_TRUE(group->runs_data_parallel());  // even alone: one GPU runs what many do
  EXPECT_EQ(group->device(), Device::cuda(0));
  EXPECT_EQ(group->rank(), 0);
  EXPECT_EQ(group->world_size(), 1);
  Generator gen(3);
  const Tensor host = randn({1000, 37}, DType::f32, &gen);
  for (const DType dtype : {DType::f32, DType::f64, DType::bf16, DType::i64}) {
    SCOPED_TRACE(dtype_name(dtype));
    const Tensor input = host.to(dtype).to(Device::cuda(0));
    Tensor output = zeros(input.shape(), TensorOptions(dtype, Device::cuda(0)));
    const std::unique_ptr<Work> work = group->all_reduce_sum_async(input, output);
    work->wait();
    testing::expect_matches_cpu(output, host.to(dtype), 0.0, 0.0);  // the sum over one rank: the input
    Tensor in_place = input.clone();
    all_reduce_sum(*group, in_place);
    testing::expect_matches_cpu(in_place, host.to(dtype), 0.0, 0.0);
  }
  Tensor t = host.to(Device::cuda(0));
  group->broadcast(t, 0);
  testing::expect_matches_cpu(t, host, 0.0, 0.0);
  group->barrier();
  EXPECT_THROW(group->all_reduce_sum_async(host, t), Error);  // a CPU tensor
}

// A bucket's work ordered after the kernels that wrote it and before those that read it: the reducer's average
// over one GPU is the gradient itself, bit for bit.
TEST(Nccl, GradientReducerOnTheGpuAveragesOverAGroupOfOne) {
  QN_REQUIRE_NCCL();
  const std::unique_ptr<ProcessGroup> group = make_process_group(Device::cuda(0));
  manual_seed(7);
  nn::Linear plain(nn::LinearOptions(300, 200));
  plain.to(Device::cuda(0));
  manual_seed(7);
  nn::Linear reduced(nn::LinearOptions(300, 200));
  reduced.to(Device::cuda(0));
  GradientReducerOptions options;
  options.bucket_bytes = 64 * 1024;  // several buckets
  GradientReducer reducer(*group, reduced.parameters(), options);
  Generator gen(8);
  const Tensor x = randn({64, 300}, DType::f32, &gen).to(Device::cuda(0));
  for (int step = 0; step < 3; ++step) {
    mse_loss(plain(x), zeros({64, 200}, Device::cuda(0))).backward();
    mse_loss(reduced(x), zeros({64, 200}, Device::cuda(0))).backward();
    reducer.finish();
  }
  testing::expect_matches_cpu(reduced.weight.grad(), plain.weight.grad().to(Device::cpu()), 0.0, 0.0);
  testing::expect_matches_cpu(reduced.bias.grad(), plain.bias.grad().to(Device::cpu()), 0.0, 0.0);
}

}  // namespace
}  // namespace qn::distributed
