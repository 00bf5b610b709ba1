#include "core/allocator.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace qn {
namespace {

std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_peak_bytes{0};
std::atomic<int64_t> g_allocations{0};

// Large buffers ask for transparent huge pages: first touch then faults 2 MiB at a time, not 4 KiB.
constexpr size_t kHugePageThreshold = size_t{4} << 20;

}  // namespace

void* host_allocate(size_t nbytes) {
  const size_t rounded = (std::max<size_t>(nbytes, 1) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  void* ptr = std::aligned_alloc(kHostAlignment, rounded);
  if (ptr == nullptr) throw std::bad_alloc();
  if (rounded >= kHugePageThreshold) madvise(ptr, rounded, MADV_HUGEPAGE);
  const int64_t live = g_live_bytes.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  int64_t peak = g_peak_bytes.load();
  while (live > peak && !g_peak_bytes.compare_exchange_weak(peak, live)) {
  }
  g_allocations.fetch_add(1);
  return ptr;
}

void host_free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  std::free(ptr);
  g_live_bytes.fetch_sub(static_cast<int64_t>(nbytes));
}

AllocatorStats host_allocator_stats() { return {g_live_bytes.load(), g_peak_bytes.load(), g_allocations.load()}; }

void reset_host_peak_bytes() { g_peak_bytes.store(g_live_bytes.load()); }

}  // namespace qn
