// Which samples form which batch: fairseq's max_tokens packing on a worked example, PyTorch's distributed
// sharding (the ranks' batches together are the single-process batch), and the loader's order being the same
// for any number of workers and after a seek.
#include "data/batching.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <set>
#include <thread>

#include "data/loader.h"
#include "data/sample_random.h"
#include "data/token_batches.h"
#include "tests/reference.h"

namespace qn::data {
namespace {

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int64_t> concat(const std::vector<IndexBatch>& batches) {
  std::vector<int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

TEST(TokenBatches, PacksLikeFairseqBatchBySize) {
  // Worked by hand from fairseq's batch_by_size: sorted by size 4(2) 1(3) 3(3) 0(5) 5(7) 2(8); a batch is full
  // when (count + 1) * longest would exceed 16.
  const std::vector<int64_t> sizes = {5, 3, 8, 3, 2, 7};
  TokenBatchOptions options;
  options.max_tokens = 16;
  options.shuffle = false;
  EXPECT_EQ(token_batches(sizes, 0, options), (std::vector<IndexBatch>{{4, 1, 3}, {0, 5}, {2}}));
  // With batch sizes a multiple of 2, the odd sample is carried into the next batch.
  options.required_batch_size_multiple = 2;
  EXPECT_EQ(token_batches(sizes, 0, options), (std::vector<IndexBatch>{{4, 1}, {3, 0}, {5, 2}}));
  // max_sentences alone.
  options = {};
  options.max_sentences = 4;
  options.shuffle = false;
  EXPECT_EQ(token_batches(sizes, 0, options), (std::vector<IndexBatch>{{4, 1, 3, 0}, {5, 2}}));
  // A sample longer than max_tokens is named.
  options = {};
  options.max_tokens = 7;
  EXPECT_QN_ERROR(token_batches(sizes, 0, options), "sample 2 has 8 tokens, more than max_tokens 7");
}

TEST(TokenBatches, ShuffledBatchesCoverEverySampleWithinTheBudget) {
  std::vector<int64_t> sizes(500);
  SampleRandom random(3, DrawPurpose::kAugment, 0, 0);
  for (auto& s : sizes) s = 1 + random.below(60);
  TokenBatchOptions options;
  options.max_tokens = 256;
  options.seed = 11;
  const auto epoch0 = token_batches(sizes, 0, options);
  std::vector<int64_t> all(sizes.size());
  std::iota(all.begin(), all.end(), int64_t{0});
  EXPECT_EQ(sorted(concat(epoch0)), all);
  for (const auto& batch : epoch0) {
    int64_t longest = 0;
    for (const int64_t i : batch) longest = std::max(longest, sizes[static_cast<size_t>(i)]);
    EXPECT_LE(longest * static_cast<int64_t>(batch.size()), options.max_tokens);
  }
  EXPECT_EQ(token_batches(sizes, 0, options), epoch0);  // a pure function of (seed, epoch)
  EXPECT_NE(token_batches(sizes, 1, options), epoch0);

  // Sharded: every rank has the same number of batches and together they hold every batch.
  std::multiset<IndexBatch> shard_union;
  size_t per_rank = 0;
  for (int rank = 0; rank < 3; ++rank) {
    options.shard = {rank, 3};
    const auto mine = token_batches(sizes, 0, options);
    if (rank == 0) per_rank = mine.size();
    EXPECT_EQ(mine.size(), per_rank);
    shard_union.insert(mine.begin(), mine.end());
  }
  for (const auto& batch : epoch0) EXPECT_TRUE(shard_union.count(batch) > 0);
  EXPECT_EQ(per_rank, (epoch0.size() + 2) / 3);
}

TEST(TokenBatches, SentencePairsArePaddedToTheLongestInTheirBatch) {
  const SentencePairBatchMaker maker({{0, 7, 2}, {0, 5, 6, 8, 9, 2}, {0, 2}, {0, 4, 4, 2}}, {1, 0, 1, 2}, 1);
  EXPECT_EQ(maker.sizes(), (std::vector<int64_t>{3, 6, 2, 4}));
  const SentencePairBatch batch = maker({3, 0}, 0);
  EXPECT_EQ(batch.tokens.shape(), Shape({2, 4}));
  const std::vector<int64_t> expected = {0, 4, 4, 2, 0, 7, 2, 1};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(batch.tokens.data_ptr<int64_t>()[i], expected[i]);
  EXPECT_EQ(batch.labels.data_ptr<int64_t>()[0], 2);
  EXPECT_EQ(batch.labels.data_ptr<int64_t>()[1], 1);
  EXPECT_QN_ERROR(maker({4}, 0), "sample 4 is outside 0..3");
}

TEST(FixedBatches, RanksTogetherMakeTheSingleProcessBatch) {
  FixedBatchOptions one;
  one.batch_size = 8;
  one.seed = 5;
  const auto single = fixed_size_batches(64, 2, one);
  ASSERT_EQ(single.size(), 8u);
  std::vector<int64_t> all(64);
  std::iota(all.begin(), all.end(), int64_t{0});
  EXPECT_EQ(sorted(concat(single)), all);

  FixedBatchOptions two = one;
  two.batch_size = 4;
  two.shard.world_size = 2;
  two.shard.rank = 0;
  const auto rank0 = fixed_size_batches(64, 2, two);
  two.shard.rank = 1;
  const auto rank1 = fixed_size_batches(64, 2, two);
  ASSERT_EQ(rank0.size(), 8u);
  ASSERT_EQ(rank1.size(), 8u);
  for (size_t k = 0; k < single.size(); ++k) {
    IndexBatch joined = rank0[k];
    joined.insert(joined.end(), rank1[k].begin(), rank1[k].end());
    EXPECT_EQ(sorted(joined), sorted(single[k])) << "batch " << k;
  }
}

TEST(FixedBatches, PadsShardsAndDropsShortBatches) {
  FixedBatchOptions options;
  options.batch_size = 4;
  options.shuffle = false;
  EXPECT_EQ(fixed_size_batches(10, 0, options), (std::vector<IndexBatch>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  options.drop_last = true;
  EXPECT_EQ(fixed_size_batches(10, 0, options).size(), 2u);
  // 10 samples on 4 ranks: padded to 12 by repeating 0 and 1 (PyTorch's DistributedSampler).
  options.drop_last = false;
  options.shard = {3, 4};
  EXPECT_EQ(fixed_size_batches(10, 0, options), (std::vector<IndexBatch>{{3, 7, 1}}));
  options.shard = {4, 4};
  EXPECT_QN_ERROR(fixed_size_batches(10, 0, options), "rank 4 of 4");
}

TEST(SampleRandom, DrawsAreUniformAndAddressedByPurposeEpochItem) {
  SampleRandom a(9, DrawPurpose::kAugment, 1, 17), b(9, DrawPurpose::kAugment, 1, 17);
  SampleRandom other_item(9, DrawPurpose::kAugment, 1, 18), other_purpose(9, DrawPurpose::kSampleOrder, 1, 17);
  double sum = 0.0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const double u = a.uniform();
    EXPECT_EQ(u, b.uniform());
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);  // 7 standard errors
  EXPECT_NE(other_item.next_u64(), SampleRandom(9, DrawPurpose::kAugment, 1, 17).next_u64());
  EXPECT_NE(other_purpose.next_u64(), SampleRandom(9, DrawPurpose::kAugment, 1, 17).next_u64());
}

// A batch that records its indices, its epoch and a per-sample random draw.
struct Recorded {
  IndexBatch indices;
  int64_t epoch = -1;
  double value = 0.0;  // a per-sample random draw, summed
};

Loader<Recorded>::Make recording_make() {
  return [](const IndexBatch& indices, int64_t epoch) {
    Recorded r{indices, epoch, 0.0};
    for (const int64_t i : indices) r.value += SampleRandom(1, DrawPurpose::kAugment, epoch, i).uniform();
    // Uneven work, so that workers finish out of order.
    std::this_thread::sleep_for(std::chrono::microseconds(50 * (indices.front() % 7)));
    return r;
  };
}

Loader<Recorded>::Plan shuffled_plan() {
  return [](int64_t epoch) {
    FixedBatchOptions options;
    options.batch_size = 5;
    options.seed = 21;
    return fixed_size_batches(203, epoch, options);
  };
}

std::vector<Recorded> drain(Loader<Recorded>& loader) {
  std::vector<Recorded> out;
  while (!loader.done()) out.push_back(loader.next());
  return out;
}

void expect_same(const std::vector<Recorded>& a, const std::vector<Recorded>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].indices, b[k].indices) << "batch " << k;
    EXPECT_EQ(a[k].epoch, b[k].epoch);
    EXPECT_EQ(a[k].value, b[k].value);
  }
}

TEST(Loader, SameBatchesWithAnyNumberOfWorkers) {
  Loader<Recorded> inline_loader(shuffled_plan(), recording_make(), {0, 2});
  Loader<Recorded> one(shuffled_plan(), recording_make(), {1, 2});
  Loader<Recorded> four(shuffled_plan(), recording_make(), {4, 3});
  for (int64_t epoch : {0, 1}) {
    inline_loader.begin_epoch(epoch);
    one.begin_epoch(epoch);
    four.begin_epoch(epoch);
    const auto reference = drain(inline_loader);
    ASSERT_EQ(reference.size(), 41u);
    expect_same(drain(one), reference);
    expect_same(drain(four), reference);
  }
  EXPECT_QN_ERROR(four.next(), "epoch 1 has only 41 batches");
}

TEST(Loader, ResumeContinuesWithTheExactNextBatch) {
  Loader<Recorded> first(shuffled_plan(), recording_make(), {4, 2});
  first.begin_epoch(3);
  for (int k = 0; k < 17; ++k) first.next();
  const LoaderPosition saved = first.position();
  EXPECT_EQ(saved, (LoaderPosition{3, 17}));
  const auto rest = drain(first);

  Loader<Recorded> resumed(shuffled_plan(), recording_make(), {2, 2});  // a new process, other worker count
  resumed.seek(saved);
  expect_same(drain(resumed), rest);

  // Random access by index, as the Trainer asks for micro-batches.
  Loader<Recorded> random_access(shuffled_plan(), recording_make(), {3, 2});
  random_access.begin_epoch(3);
  EXPECT_EQ(random_access.batch(30).indices, rest[13].indices);
  EXPECT_EQ(random_access.batch(31).indices, rest[14].indices);
  EXPECT_EQ(random_access.batch(17).indices, rest[0].indices);
}

TEST(Loader, AWorkerErrorSurfacesAtItsBatch) {
  auto make = [](const IndexBatch& indices, int64_t) -> int {
    QN_CHECK(indices.front() != 2, "make", "sample 2 is bad");
    return static_cast<int>(indices.front());
  };
  auto plan = [](int64_t) { return std::vector<IndexBatch>{{0}, {1}, {2}, {3}}; };
  Loader<int> loader(plan, make, {2, 2});
  loader.begin_epoch(0);
  EXPECT_EQ(loader.next(), 0);
  EXPECT_EQ(loader.next(), 1);
  EXPECT_QN_ERROR(loader.next(), "sample 2 is bad");
  EXPECT_EQ(loader.next(), 3);
}

TEST(Loader, WorkersLeaveTheThreadPoolToTheConsumer) {
  // A worker's kernels run on the worker alone: a second OpenMP team beside the pool would compete with it
  // for the cores (and, with more OpenMP threads than cores, libgomp puts idle pool threads to sleep).
  const int threads = get_num_threads();
  set_num_threads(2);
  auto pieces_of_a_parallel_loop = [](const IndexBatch&, int64_t) {
    std::atomic<int> pieces{0};
    parallel_for(0, 1000, 1, [&](int64_t, int64_t) { ++pieces; });
    return pieces.load();
  };
  auto plan = [](int64_t) { return std::vector<IndexBatch>{{0}, {1}}; };
  Loader<int> inline_loader(plan, pieces_of_a_parallel_loop, {0, 2});
  Loader<int> with_worker(plan, pieces_of_a_parallel_loop, {1, 2});
  inline_loader.begin_epoch(0);
  with_worker.begin_epoch(0);
  EXPECT_EQ(inline_loader.next(), 2);  // the consumer's own thread uses the pool
  EXPECT_EQ(with_worker.next(), 1);
  set_num_threads(threads);
}

}  // namespace
}  // namespace qn::data
