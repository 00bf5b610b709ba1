// The process group, run twice by ctest: alone (the group of one) and under `mpiexec -n 2` (label mpi), where
// every rank runs every test and so calls the same collectives in the same order. Expected values are closed
// forms over the world size, not results of the code under test.
#include "train/distributed/process_group.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

namespace qn::distributed {
namespace {

ProcessGroup& group() {
  static std::unique_ptr<ProcessGroup> g = make_process_group();
  return *g;
}

bool launched() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr; }

// Element i on rank r: (r + 1) * (i + 1) + offset; summed over W ranks: (i + 1) * W (W + 1) / 2 + W * offset.
Tensor rank_values(int64_t n, DType dtype, double offset) {
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[i] = (group().rank() + 1) * static_cast<double>(i + 1) + offset;
  return from_vector(values).to(dtype);
}

void expect_rank_sum(const Tensor& t, double offset) {
  const double w = group().world_size();
  const Tensor values = t.to(DType::f64);
  const double* v = values.data_ptr<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    ASSERT_EQ(v[i], static_cast<double>(i + 1) * w * (w + 1) / 2 + w * offset) << "element " << i;
  }
}

TEST(ProcessGroup, MatchesTheLauncher) {
  const LaunchEnvironment env = launch_environment();
  EXPECT_EQ(group().rank(), env.rank);
  EXPECT_EQ(group().world_size(), env.world_size);
  EXPECT_EQ(group().backend(), env.world_size > 1 ? "mpi" : "single");
  EXPECT_EQ(group().runs_data_parallel(), env.world_size > 1);
  EXPECT_TRUE(group().device().is_cpu());
}

TEST(ProcessGroup, AllReduceSumsEveryRanksValues) {
  for (DType dtype : {DType::f32, DType::f64, DType::i64, DType::i32}) {
    const double offset = (dtype == DType::f32 || dtype == DType::f64) ? 0.25 : 3;  // exact in every type
    Tensor t = rank_values(1000, dtype, offset);
    all_reduce_sum(group(), t);
    SCOPED_TRACE(t.describe());
    expect_rank_sum(t, offset);
  }
}

TEST(ProcessGroup, AsyncAllReducesCompleteInAnyOrderOfWaits) {
  std::vector<Tensor> buckets = {rank_values(7, DType::f32, 0), rank_values(100000, DType::f32, 0.5),
                                 rank_values(1, DType::f64, 0)};
  std::vector<std::unique_ptr<Work>> works;
  for (Tensor& t : buckets) works.push_back(group().all_reduce_sum_async(t, t));
  for (auto it = works.rbegin(); it != works.rend(); ++it) (*it)->wait();
  expect_rank_sum(buckets[0], 0);
  expect_rank_sum(buckets[1], 0.5);
  expect_rank_sum(buckets[2], 0);
}

TEST(ProcessGroup, OutOfPlaceAllReduceLeavesTheInput) {
  const Tensor input = rank_values(1000, DType::f32, 0.25);
  const Tensor before = input.clone();
  Tensor output = zeros({1000});
  group().all_reduce_sum_async(input, output)->wait();
  expect_rank_sum(output, 0.25);
  for (int64_t i = 0; i < input.numel(); ++i) ASSERT_EQ(input.data_ptr<float>()[i], before.data_ptr<float>()[i]);
}

TEST(ProcessGroup, BroadcastGivesEveryRankTheRootsValues) {
  for (int root = 0; root < group().world_size(); ++root) {
    Tensor t = rank_values(33, DType::f32, 0);
    group().broadcast(t, root);
    for (int64_t i = 0; i < t.numel(); ++i) {
      ASSERT_EQ(t.data_ptr<float>()[i], static_cast<float>((root + 1) * (i + 1))) << "root " << root;
    }
  }
  group().barrier();
}

TEST(ProcessGroup, RefusesWhatItCannotSend) {
  Tensor strided = zeros({4, 3}).t();
  EXPECT_THROW(group().all_reduce_sum_async(strided, strided), Error);
  Tensor other = zeros({4});
  EXPECT_THROW(group().all_reduce_sum_async(zeros({3}), other), Error);
  Tensor t = zeros({3});
  EXPECT_THROW(group().broadcast(t, group().world_size()), Error);
  EXPECT_THROW(group().broadcast(t, -1), Error);
}

// The launcher's variables, set by hand; skipped under a launcher, whose own variables these would shadow.
class LaunchVariables : public ::testing::Test {
 protected:
  void SetUp() override {
    if (launched()) GTEST_SKIP() << "runs outside mpirun";
  }
  void TearDown() override {
    for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK"}) unsetenv(name);
  }
};

TEST_F(LaunchVariables, NoneMeansOneProcess) {
  const LaunchEnvironment env = launch_environment();
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.launcher, "none");
}

TEST_F(LaunchVariables, TorchrunNames) {
  setenv("RANK", "2", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("LOCAL_RANK", "1", 1);
  const LaunchEnvironment env = launch_environment();
  EXPECT_EQ(env.rank, 2);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.launcher, "torchrun");
}

TEST_F(LaunchVariables, MalformedValuesAreErrors) {
  setenv("WORLD_SIZE", "4", 1);
  EXPECT_THROW(launch_environment(), Error);  // a size without a rank
  for (const char* rank : {"x", "-1", "4", "2 ", "99999999999"}) {
    setenv("RANK", rank, 1);
    EXPECT_THROW(launch_environment(), Error) << "RANK=" << rank;
  }
}

}  // namespace
}  // namespace qn::distributed
