// The caching allocator's bookkeeping, over a counting stand-in for device memory: rounding and segment sizes, reuse
// without asking the source again, blocks split from segments and merged back, sizes that vary from step to step,
// giving the cache back when the source runs out, and the error when nothing helps.
#include "core/caching_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "tests/reference.h"

namespace qn {
namespace {

// Host memory with a capacity, counting what it hands out.
class CountingMemory final : public RawMemory {
 public:
  explicit CountingMemory(size_t capacity) : capacity_(capacity) {}
  void* allocate(size_t nbytes) override {
    if (in_use + nbytes > capacity_) return nullptr;
    in_use += nbytes;
    ++allocations;
    return std::malloc(nbytes);
  }
  void free(void* ptr, size_t nbytes) override {
    in_use -= nbytes;
    ++frees;
    std::free(ptr);
  }
  size_t in_use = 0;
  int allocations = 0;
  int frees = 0;

 private:
  size_t capacity_;
};

struct Fixture {
  explicit Fixture(size_t capacity = size_t{1} << 30) {
    auto owned = std::make_unique<CountingMemory>(capacity);
    memory = owned.get();
    allocator = std::make_unique<CachingAllocator>(std::move(owned), "test:0");
  }
  CountingMemory* memory;
  std::unique_ptr<CachingAllocator> allocator;
};

constexpr size_t kMiB = size_t{1} << 20;

TEST(CachingAllocator, RequestsRoundTo512BytesAndSegmentsByPool) {
  EXPECT_EQ(CachingAllocator::rounded_size(1), 512u);
  EXPECT_EQ(CachingAllocator::rounded_size(512), 512u);
  EXPECT_EQ(CachingAllocator::rounded_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::rounded_size(3 * kMiB + 1), 3 * kMiB + 512);
  EXPECT_EQ(CachingAllocator::segment_size(512), 2 * kMiB);
  EXPECT_EQ(CachingAllocator::segment_size(kMiB), 2 * kMiB);
  EXPECT_EQ(CachingAllocator::segment_size(kMiB + 512), 20 * kMiB);
  EXPECT_EQ(CachingAllocator::segment_size(10 * kMiB), 20 * kMiB);
  EXPECT_EQ(CachingAllocator::segment_size(10 * kMiB + 512), 12 * kMiB);
  EXPECT_EQ(CachingAllocator::segment_size(33 * kMiB), 34 * kMiB);
}

TEST(CachingAllocator, AStepRepeatedAsksTheSourceForNothing) {
  Fixture f;
  const std::vector<size_t> step = {100, 4096, 3 * kMiB, 5 * kMiB, 100, 70000, 30 * kMiB};
  auto run_step = [&] {
    std::vector<void*> blocks;
    for (size_t n : step) blocks.push_back(f.allocator->allocate(n));
    EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size());  // distinct blocks
    for (size_t i = 0; i < blocks.size(); ++i) f.allocator->free(blocks[i], step[i]);
  };
  run_step();
  // One 2 MiB segment for the small requests, one of 20 MiB shared by 3 and 5 MiB, one of its own for 30 MiB.
  EXPECT_EQ(f.memory->allocations, 3);
  EXPECT_EQ(f.memory->in_use, 52 * kMiB);
  for (int i = 0; i < 5; ++i) run_step();
  EXPECT_EQ(f.memory->allocations, 3);
  const CachingAllocatorStats stats = f.allocator->stats();
  EXPECT_EQ(stats.requests, 42);
  EXPECT_EQ(stats.raw_allocations, 3);
  EXPECT_EQ(stats.live_bytes, 0);
  EXPECT_EQ(stats.cached_bytes, static_cast<int64_t>(52 * kMiB));
  EXPECT_EQ(stats.reserved_bytes, static_cast<int64_t>(52 * kMiB));
  size_t live_at_peak = 0;
  for (size_t n : step) live_at_peak += CachingAllocator::rounded_size(n);
  EXPECT_EQ(stats.peak_bytes, static_cast<int64_t>(live_at_peak));

  f.allocator->release_cache();
  EXPECT_EQ(f.memory->in_use, 0u);
  EXPECT_EQ(f.memory->frees, 3);
  EXPECT_EQ(f.allocator->stats().cached_bytes, 0);
  EXPECT_EQ(f.allocator->stats().reserved_bytes, 0);
}

// A block is split from a larger free one, and merges back with free neighbours when freed: blocks of one segment
// are adjacent, and once all are free the whole segment serves one large request again.
TEST(CachingAllocator, BlocksSplitFromSegmentsAndMergeBack) {
  Fixture f;
  auto* a = static_cast<char*>(f.allocator->allocate(3 * kMiB));
  auto* b = static_cast<char*>(f.allocator->allocate(4 * kMiB));
  auto* c = static_cast<char*>(f.allocator->allocate(2 * kMiB));
  EXPECT_EQ(b, a + 3 * kMiB);
  EXPECT_EQ(c, b + 4 * kMiB);
  EXPECT_EQ(f.memory->allocations, 1);
  f.allocator->free(b, 4 * kMiB);
  EXPECT_EQ(f.allocator->allocate(4 * kMiB), b);  // the hole is reused
  f.allocator->free(a, 3 * kMiB);
  f.allocator->free(b, 4 * kMiB);                 // merges with a's block
  EXPECT_EQ(f.allocator->allocate(6 * kMiB), a);  // 7 MiB free before c: best fit
  f.allocator->free(a, 6 * kMiB);
  f.allocator->free(c, 2 * kMiB);  // the whole segment free again, one block
  EXPECT_EQ(f.allocator->allocate(10 * kMiB), a);
  EXPECT_EQ(f.memory->allocations, 1);
  f.allocator->free(a, 10 * kMiB);

  // A small request never splits a large segment: it has a pool of its own.
  auto* small = static_cast<char*>(f.allocator->allocate(1000));
  EXPECT_TRUE(small < a || small >= a + 20 * kMiB);
  EXPECT_EQ(f.memory->allocations, 2);
  f.allocator->free(small, 1000);
  // release_cache gives back only segments with nothing in use.
  void* held = f.allocator->allocate(512);
  f.allocator->release_cache();
  EXPECT_EQ(f.memory->frees, 1);
  EXPECT_EQ(f.memory->in_use, 2 * kMiB);
  f.allocator->free(held, 512);
}

// Shapes that change from step to step (adaptive softmax bands, k-means chunks): with blocks kept per size class
// the cache grew with every new size until the source ran out, and each retry gave everything back. Split blocks
// reuse the same segments: after the first steps nothing more is asked of the source and nothing given back.
TEST(CachingAllocator, VaryingSizesReuseTheSameSegments) {
  Fixture f(256 * kMiB);
  uint64_t state = 1;
  const auto next_size = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return kMiB + (state >> 33) % (6 * kMiB);  // 1 to 7 MiB, almost never twice the same
  };
  std::vector<int> raw_allocations;
  for (int step = 0; step < 200; ++step) {
    std::vector<std::pair<void*, size_t>> blocks;
    for (int i = 0; i < 4; ++i) {
      const size_t n = next_size();
      blocks.emplace_back(f.allocator->allocate(n), n);
    }
    for (const auto& [ptr, n] : blocks) f.allocator->free(ptr, n);
    raw_allocations.push_back(f.memory->allocations);
  }
  EXPECT_LE(raw_allocations.back(), 2);  // 4 x 7 MiB at most live: two 20 MiB segments
  EXPECT_EQ(f.memory->frees, 0);
  EXPECT_EQ(f.allocator->stats().live_bytes, 0);
}

TEST(CachingAllocator, PeakResetsAndNullIsNothing) {
  Fixture f;
  void* a = f.allocator->allocate(1000);
  EXPECT_EQ(f.allocator->stats().live_bytes, 1024);
  void* b = f.allocator->allocate(2000);
  EXPECT_EQ(f.allocator->stats().peak_bytes, 1024 + 2048);
  f.allocator->free(b, 2000);
  f.allocator->reset_peak();
  EXPECT_EQ(f.allocator->stats().peak_bytes, 1024);
  EXPECT_EQ(f.allocator->allocate(0), nullptr);
  f.allocator->free(nullptr, 0);
  f.allocator->free(a, 1000);
  EXPECT_QN_ERROR(f.allocator->free(a, 1000), "not handed out");
}

TEST(CachingAllocator, OutOfMemoryGivesTheCacheBackThenSaysWhatWasAsked) {
  Fixture f(8 * kMiB);
  // A 20 MiB segment does not fit: the request gets a segment of its own size.
  void* a = f.allocator->allocate(6 * kMiB);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(f.memory->in_use, 6 * kMiB);
  f.allocator->free(a, 6 * kMiB);
  void* small = f.allocator->allocate(100);  // a 2 MiB small segment: 8 MiB in use
  f.allocator->free(small, 100);
  void* b = f.allocator->allocate(7 * kMiB);  // fits only once both free segments are given back
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(f.memory->frees, 2);
  EXPECT_QN_ERROR(f.allocator->allocate(5 * kMiB), "out of memory on test:0", "asked for 5242880 bytes",
                  "7340032 bytes in use");
  EXPECT_EQ(f.allocator->stats().live_bytes, static_cast<int64_t>(7 * kMiB));  // the failed request left nothing
  f.allocator->free(b, 7 * kMiB);
}

}  // namespace
}  // namespace qn
