// A task's training batches under data parallelism: a rank's loader plans, makes and hands out only the
// rank's batches (rank, rank + W, ...), addressed by their index among every rank's.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "tests/reference.h"
#include "tools/tasks/task_parts.h"

namespace qn::tasks {
namespace {

// Batch k of the epoch is the single sample k; make() records which batches it was asked for.
struct Recorder {
  std::mutex mutex;
  std::multiset<int64_t> made;
  TrainingBatches<int64_t> batches(int workers) {
    return TrainingBatches<int64_t>(
        [](int64_t) {
          std::vector<data::IndexBatch> plan;
          for (int64_t k = 0; k < 10; ++k) plan.push_back({k});
          return plan;
        },
        [this](const data::IndexBatch& indices, int64_t) {
          std::lock_guard lock(mutex);
          made.insert(indices.at(0));
          return indices.at(0);
        },
        workers);
  }
};

TEST(TrainingBatches, ARankMakesOnlyItsOwnBatches) {
  for (int workers : {0, 2}) {
    SCOPED_TRACE(workers);
    Recorder recorder;
    TrainingBatches<int64_t> batches = recorder.batches(workers);
    batches.set_rank(1, 3);
    batches.begin_epoch(0);
    EXPECT_EQ(batches.batches_per_epoch(), 10);  // every rank's
    for (int64_t k : {1, 4, 7}) EXPECT_EQ(batches.batch(k), k);
    EXPECT_EQ(recorder.made, (std::multiset<int64_t>{1, 4, 7}));
    EXPECT_QN_ERROR(batches.batch(2), "TrainingBatches", "does not read batch 2");
    EXPECT_QN_ERROR(batches.set_rank(0, 3), "TrainingBatches", "before the first epoch");
  }
}

TEST(TrainingBatches, OneProcessReadsEveryBatch) {
  Recorder recorder;
  TrainingBatches<int64_t> batches = recorder.batches(0);
  batches.begin_epoch(0);
  EXPECT_EQ(batches.batches_per_epoch(), 10);
  EXPECT_EQ(batches.batch(5), 5);
  EXPECT_EQ(batches.batch(6), 6);
}

}  // namespace
}  // namespace qn::tasks
