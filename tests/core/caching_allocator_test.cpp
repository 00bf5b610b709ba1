// The caching allocator's bookkeeping, over a counting stand-in for device memory: size classes, reuse without
// asking the source again, giving the cache back when the source runs out, and the error when nothing helps.
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

TEST(CachingAllocator, SizeClassesRoundUpByAtMostAQuarter) {
  EXPECT_EQ(CachingAllocator::size_class(0), 0u);
  EXPECT_EQ(CachingAllocator::size_class(1), 512u);
  EXPECT_EQ(CachingAllocator::size_class(512), 512u);
  EXPECT_EQ(CachingAllocator::size_class(513), 1024u);
  EXPECT_EQ(CachingAllocator::size_class((1u << 20) - 1), 1u << 20);
  EXPECT_EQ(CachingAllocator::size_class(1u << 20), 1u << 20);
  EXPECT_EQ(CachingAllocator::size_class((1u << 20) + 1), (1u << 20) + (1u << 18));  // 1.25 MiB
  EXPECT_EQ(CachingAllocator::size_class(3u << 20), 3u << 20);                       // 1.5 * 2 MiB
  EXPECT_EQ(CachingAllocator::size_class((7u << 20) + 1), 8u << 20);
  for (size_t n = 1; n < (size_t{64} << 20); n = n * 3 / 2 + 7) {
    const size_t c = CachingAllocator::size_class(n);
    ASSERT_GE(c, n);
    ASSERT_LE(c, n < (1u << 20) ? n + 511 : n + n / 4) << n;
  }
}

TEST(CachingAllocator, AStepRepeatedAsksTheSourceForNothing) {
  Fixture f;
  const std::vector<size_t> step = {100, 4096, 3u << 20, 5u << 20, 100, 70000};
  auto run_step = [&] {
    std::vector<void*> blocks;
    for (size_t n : step) blocks.push_back(f.allocator->allocate(n));
    EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size());  // distinct blocks
    for (size_t i = 0; i < blocks.size(); ++i) f.allocator->free(blocks[i], step[i]);
  };
  run_step();
  const int after_first = f.memory->allocations;
  EXPECT_EQ(after_first, 6);
  for (int i = 0; i < 5; ++i) run_step();
  EXPECT_EQ(f.memory->allocations, after_first);
  const CachingAllocatorStats stats = f.allocator->stats();
  EXPECT_EQ(stats.requests, 36);
  EXPECT_EQ(stats.raw_allocations, 6);
  EXPECT_EQ(stats.live_bytes, 0);
  size_t expected_cached = 0;
  for (size_t n : step) expected_cached += CachingAllocator::size_class(n);
  EXPECT_EQ(stats.cached_bytes, static_cast<int64_t>(expected_cached));
  EXPECT_EQ(stats.peak_bytes, static_cast<int64_t>(expected_cached));
  EXPECT_EQ(f.memory->in_use, expected_cached);

  f.allocator->release_cache();
  EXPECT_EQ(f.memory->in_use, 0u);
  EXPECT_EQ(f.memory->frees, 6);
  EXPECT_EQ(f.allocator->stats().cached_bytes, 0);
}

TEST(CachingAllocator, SameClassIsReusedAndPeakResets) {
  Fixture f;
  void* a = f.allocator->allocate(1000);
  f.allocator->free(a, 1000);
  EXPECT_EQ(f.allocator->allocate(1024), a);  // 1000 and 1024 share a class
  EXPECT_EQ(f.allocator->stats().live_bytes, 1024);
  void* b = f.allocator->allocate(2000);
  EXPECT_EQ(f.allocator->stats().peak_bytes, 1024 + 2048);
  f.allocator->free(b, 2000);
  f.allocator->reset_peak();
  EXPECT_EQ(f.allocator->stats().peak_bytes, 1024);
  EXPECT_EQ(f.allocator->allocate(0), nullptr);
  f.allocator->free(nullptr, 0);
  f.allocator->free(a, 1000);
}

TEST(CachingAllocator, OutOfMemoryGivesTheCacheBackThenSaysWhatWasAsked) {
  Fixture f(8u << 20);
  void* a = f.allocator->allocate(6u << 20);
  f.allocator->free(a, 6u << 20);             // cached: 6 MiB of the 8
  void* b = f.allocator->allocate(4u << 20);  // fits only once the cache is given back
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(f.allocator->stats().cached_bytes, 0);
  EXPECT_EQ(f.memory->frees, 1);
  EXPECT_QN_ERROR(f.allocator->allocate(5u << 20), "out of memory on test:0", "asked for 5242880 bytes",
                  "4194304 bytes in use");
  EXPECT_EQ(f.allocator->stats().live_bytes, 4 << 20);  // the failed request left nothing behind
  f.allocator->free(b, 4u << 20);
}

}  // namespace
}  // namespace qn
