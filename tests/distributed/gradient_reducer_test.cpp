// Gradient averaging, alone and under `mpiexec -n 2` (label mpi). Each rank takes its shard of one global
// batch; the reference is the gradient of the whole batch's mean loss, computed by the same process on its own
// copy of the parameters without any reduction. Equal up to the order of the sums.
#include "train/distributed/gradient_reducer.h"

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/reference.h"

namespace qn::distributed {
namespace {

ProcessGroup& group() {
  static std::unique_ptr<ProcessGroup> g = make_process_group();
  return *g;
}

constexpr int64_t kPerRank = 3;

// A two-layer net's parameters (same seeds on every rank), plus one the loss never uses.
std::vector<Tensor> parameters() {
  std::vector<Tensor> p = {testing::random({4, 5}, DType::f64, 11), testing::random({5}, DType::f64, 12),
                           testing::random({5, 2}, DType::f64, 13), testing::random({3}, DType::f64, 14)};
  for (Tensor& t : p) t.set_requires_grad(true);
  return p;
}

// Rows [first, first + count) of the global batch (W * kPerRank rows, the same draw on every rank).
Tensor batch_rows(int64_t first, int64_t count, uint64_t seed) {
  const Tensor all = testing::random({group().world_size() * kPerRank, 4}, DType::f64, seed);
  return narrow(all, 0, first, count);
}

Tensor loss(const std::vector<Tensor>& p, const Tensor& x) {
  const Tensor hidden = tanh(add(matmul(x, p[0]), p[1]));  // (B, 5)
  return mean(mul(matmul(hidden, p[2]), matmul(hidden, p[2])));
}

void expect_close(const Tensor& actual, const Tensor& expected) {
  ASSERT_TRUE(actual.defined());
  ASSERT_EQ(actual.shape(), expected.shape());
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const double e = expected.data_ptr<double>()[i];
    EXPECT_NEAR(actual.data_ptr<double>()[i], e, 1e-12 * (1 + std::abs(e))) << "element " << i;
  }
}

void check_reduced_gradients(int64_t bucket_bytes) {
  std::vector<Tensor> local = parameters();
  GradientReducer reducer(group(), local, GradientReducerOptions{bucket_bytes});
  const int rank = group().rank(), world = group().world_size();
  loss(local, batch_rows(rank * kPerRank, kPerRank, 7)).backward();
  reducer.finish();

  std::vector<Tensor> whole = parameters();
  loss(whole, batch_rows(0, world * kPerRank, 7)).backward();
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE("parameter " + std::to_string(i));
    expect_close(local[i], whole[i]);  // the same values before any step
    expect_close(local[i].grad(), whole[i].grad());
  }
  // The unused parameter: zeros, the same on every rank, when there is more than one.
  if (world > 1) expect_close(local[3].grad(), zeros({3}, DType::f64));
}

TEST(GradientReducer, AveragesToTheWholeBatchsGradientInOneBucket) { check_reduced_gradients(int64_t{25} << 20); }

TEST(GradientReducer, AveragesToTheWholeBatchsGradientInManyBuckets) {
  check_reduced_gradients(8);  // a bucket per parameter: started in order as backward reaches them
}

TEST(GradientReducer, AccumulationStepsReduceOnceOnTheLast) {
  std::vector<Tensor> local = parameters();
  GradientReducer reducer(group(), local, GradientReducerOptions{64});
  const int rank = group().rank(), world = group().world_size();
  // Two micro-batches per rank: rows of two global batches (seeds 7 and 8).
  reducer.set_sync(false);
  mul(loss(local, batch_rows(rank * kPerRank, kPerRank, 7)), 0.5).backward();
  reducer.finish();  // nothing to do: the gradient stays local
  reducer.set_sync(true);
  mul(loss(local, batch_rows(rank * kPerRank, kPerRank, 8)), 0.5).backward();
  reducer.finish();

  std::vector<Tensor> whole = parameters();
  mul(loss(whole, batch_rows(0, world * kPerRank, 7)), 0.5).backward();
  mul(loss(whole, batch_rows(0, world * kPerRank, 8)), 0.5).backward();
  for (size_t i = 0; i < 3; ++i) expect_close(local[i].grad(), whole[i].grad());
}

TEST(GradientReducer, RefusesParametersItCannotReduce) {
  Tensor no_grad = zeros({2});
  EXPECT_THROW(GradientReducer(group(), {no_grad}), Error);
  EXPECT_THROW(GradientReducer(group(), parameters(), GradientReducerOptions{0}), Error);
}

}  // namespace
}  // namespace qn::distributed
