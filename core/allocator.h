// Host memory: 64-byte aligned (one cache line, one AVX-512 register), with live/peak counters so
// tests can check that a training loop's footprint stays flat.
//
// Large blocks (>= 1 MiB) are cached when freed and handed out again for the same size: a training step
// allocates the same activations every iteration, and a fresh 64 MiB buffer costs more in page faults
// than an elementwise op costs in arithmetic. The cache is bounded (QN_HOST_CACHE_MB, default 1/8 of
// physical memory, at most 4 GiB; 0 turns it off) and is emptied when an allocation would fail.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qn {

inline constexpr size_t kHostAlignment = 64;

void* host_allocate(size_t nbytes);
void host_free(void* ptr, size_t nbytes);

struct AllocatorStats {
  int64_t live_bytes = 0;    // allocated and not yet freed (cached blocks are not live)
  int64_t peak_bytes = 0;    // highest live_bytes since the last reset
  int64_t allocations = 0;   // number of host_allocate calls
  int64_t cached_bytes = 0;  // freed large blocks kept for reuse
};
AllocatorStats host_allocator_stats();
void reset_host_peak_bytes();
// Returns every cached block to the system.
void release_host_cache();

}  // namespace qn
