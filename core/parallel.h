// parallel_for: the one way the engine splits a loop over threads. It uses the OpenMP pool, which
// OpenBLAS (OpenMP build) shares, so the two never oversubscribe the cores. Nested calls run serially.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace qn {

// The engine's thread count: QN_NUM_THREADS when set, else OpenMP's default. OpenBLAS (OpenMP build)
// follows it; kernels/ also passes it to OpenBLAS explicitly for the pthread build.
int get_num_threads();
void set_num_threads(int threads);

// Makes every parallel_for on the calling thread run serially, for threads that work beside the engine's pool
// (data loader workers): a second OpenMP team would compete with the pool for the cores, and with more
// OpenMP threads than cores libgomp stops letting idle pool threads spin, so every region start wakes them
// from sleep.
void run_serially_on_this_thread();
bool runs_serially();

// Calls body(begin, end) on disjoint sub-ranges covering [begin, end). Ranges shorter than grain
// (elements of work per thread worth the fork) run on the calling thread.
template <class Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int max_threads = omp_in_parallel() || runs_serially() ? 1 : get_num_threads();
  const int64_t threads =
      std::min<int64_t>(max_threads, (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (threads <= 1) {
    body(begin, end);
    return;
  }
#pragma omp parallel num_threads(static_cast <int>(threads))
  {
    const int64_t tid = omp_get_thread_num();
    const int64_t count = omp_get_num_threads();
    const int64_t chunk = (n + count - 1) / count;
    const int64_t lo = begin + tid * chunk;
    const int64_t hi = std::min(end, lo + chunk);
    if (lo < hi) body(lo, hi);
  }
}

}  // namespace qn
