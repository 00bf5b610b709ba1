#include "core/allocator.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "core/error.h"

namespace qn {
namespace {

std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_peak_bytes{0};
std::atomic<int64_t> g_allocations{0};

constexpr size_t kCacheMinBytes = size_t{1} << 20;
constexpr size_t kMaxHostBytes = size_t{1} << 56;
constexpr size_t kCacheGranule = size_t{64} << 10;  // cached sizes are rounded to 64 KiB
// Blocks this large ask for transparent huge pages: first touch then faults 2 MiB at a time.
constexpr size_t kHugePageThreshold = size_t{4} << 20;

size_t block_size(size_t nbytes) {
  const size_t aligned = (std::max<size_t>(nbytes, 1) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  return aligned >= kCacheMinBytes ? (aligned + kCacheGranule - 1) / kCacheGranule * kCacheGranule : aligned;
}

size_t cache_limit() {
  if (const char* env = std::getenv("QN_HOST_CACHE_MB"); env != nullptr && *env != '\0') {
    return static_cast<size_t>(std::strtoull(env, nullptr, 10)) << 20;
  }
  const size_t physical = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return std::min(physical / 8, size_t{4} << 30);
}

// Freed large blocks by size. Reuse is exact-size: steps repeat their shapes.
class BlockCache {
 public:
  void* take(size_t size) {
    std::lock_guard lock(mutex_);
    auto it = blocks_.find(size);
    if (it == blocks_.end()) return nullptr;
    void* ptr = it->second;
    blocks_.erase(it);
    cached_ -= size;
    return ptr;
  }
  bool keep(void* ptr, size_t size) {
    std::lock_guard lock(mutex_);
    if (cached_ + size > limit_) return false;
    blocks_.emplace(size, ptr);
    cached_ += size;
    return true;
  }
  void release() {
    std::lock_guard lock(mutex_);
    for (auto& [size, ptr] : blocks_) std::free(ptr);
    blocks_.clear();
    cached_ = 0;
  }
  int64_t cached() {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(cached_);
  }

 private:
  std::mutex mutex_;
  std::multimap<size_t, void*> blocks_;
  size_t cached_ = 0;
  size_t limit_ = cache_limit();
};

BlockCache& cache() {
  static BlockCache* instance = new BlockCache();  // never destroyed: tensors may outlive static teardown
  return *instance;
}

// "1.5 GiB", "12 MiB", "512 bytes".
std::string readable_bytes(size_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.3g %s", value, units[unit]);
  return text;
}

[[noreturn]] void out_of_memory(size_t bytes) {
  throw_error("memory", detail::concat("cannot allocate ", readable_bytes(bytes), " for a tensor (",
                                       readable_bytes(static_cast<size_t>(g_live_bytes.load())),
                                       " held by tensors already): the model or the batch does not fit in this "
                                       "machine's memory; a smaller batch (--batch-size, --max-tokens) may"));
}

void* system_allocate(size_t size) {
  void* ptr = std::aligned_alloc(kHostAlignment, size);
  if (ptr == nullptr) {  // give the cache back and try once more
    cache().release();
    ptr = std::aligned_alloc(kHostAlignment, size);
  }
  if (ptr == nullptr) out_of_memory(size);
  if (size >= kHugePageThreshold) madvise(ptr, size, MADV_HUGEPAGE);
  return ptr;
}

}  // namespace

void* host_allocate(size_t nbytes) {
  // Beyond any machine's address space; also keeps block_size's rounding from wrapping around.
  if (nbytes > kMaxHostBytes) out_of_memory(nbytes);
  const size_t size = block_size(nbytes);
  void* ptr = size >= kCacheMinBytes ? cache().take(size) : nullptr;
  if (ptr == nullptr) ptr = system_allocate(size);
  const int64_t live = g_live_bytes.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  int64_t peak = g_peak_bytes.load();
  while (live > peak && !g_peak_bytes.compare_exchange_weak(peak, live)) {
  }
  g_allocations.fetch_add(1);
  return ptr;
}

void host_free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  g_live_bytes.fetch_sub(static_cast<int64_t>(nbytes));
  const size_t size = block_size(nbytes);
  if (size >= kCacheMinBytes && cache().keep(ptr, size)) return;
  std::free(ptr);
}

AllocatorStats host_allocator_stats() {
  return {g_live_bytes.load(), g_peak_bytes.load(), g_allocations.load(), cache().cached()};
}

void reset_host_peak_bytes() { g_peak_bytes.store(g_live_bytes.load()); }

void release_host_cache() { cache().release(); }

void keep_freed_heap_memory() {
  // Setting either threshold fixes both (glibc stops adapting them), so both are set.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace qn
