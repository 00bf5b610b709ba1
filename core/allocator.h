// Host memory: 64-byte aligned (one cache line, one AVX-512 register), with live/peak counters so
// tests can check that a training loop's footprint stays flat.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qn {

inline constexpr size_t kHostAlignment = 64;

void* host_allocate(size_t nbytes);
void host_free(void* ptr, size_t nbytes);

struct AllocatorStats {
  int64_t live_bytes = 0;   // allocated and not yet freed
  int64_t peak_bytes = 0;   // highest live_bytes since the last reset
  int64_t allocations = 0;  // number of host_allocate calls
};
AllocatorStats host_allocator_stats();
void reset_host_peak_bytes();

}  // namespace qn
