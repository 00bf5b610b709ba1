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

// Asks glibc's malloc to keep freed memory for reuse: blocks up to 32 MiB come from the heap rather than from
// mmap, and up to 512 MiB of free heap top stays mapped. A training step frees and asks again for the same
// sub-megabyte buffers (kernel scratch, small activations) every iteration; by default glibc trims the heap
// and maps such blocks afresh, and the page faults cost a quarter of a small model's step (the main job on
// Fashion-MNIST: 451,721 faults and 22.8 s against 99,318 and 17.2 s over 300 updates). Binaries call this
// once at start; it changes the whole process's malloc, so the library never calls it by itself.
void keep_freed_heap_memory();

}  // namespace qn
