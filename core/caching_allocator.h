// A caching allocator over a source of memory whose allocation and release are costly. cudaMalloc and cudaFree
// synchronize the whole device, so a training step that gave its activations back to the driver and asked again
// each iteration would stall the GPU many times a step. Blocks that tensors free are kept by size class and
// handed out again for a request of the same class: after its first iteration a step asks the source for nothing.
//
// Size classes: below 1 MiB a request rounds up to a multiple of 512 bytes; from 1 MiB up, to the next of
// 2^k, 1.25 * 2^k, 1.5 * 2^k, 1.75 * 2^k, so a block is never more than 25% larger than asked.
//
// Reuse is stream-ordered, as in PyTorch's CUDA allocator: all work on a device runs on its one stream, in order,
// so a block freed on the host once the kernels reading it were launched can go to kernels launched later, which
// cannot start before those end. Nothing here synchronizes.
//
// When the source is out of memory, the cache is given back to it and the request tried once more; if that fails
// too, the error names the bytes asked and what is in use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace qn {

// Where a CachingAllocator gets its memory.
class RawMemory {
 public:
  virtual ~RawMemory() = default;
  // nbytes (> 0) of fresh memory, or nullptr when there is not enough.
  virtual void* allocate(size_t nbytes) = 0;
  virtual void free(void* ptr, size_t nbytes) = 0;
};

struct CachingAllocatorStats {
  int64_t live_bytes = 0;       // handed out and not yet freed, in size-class bytes
  int64_t peak_bytes = 0;       // highest live_bytes since the last reset
  int64_t cached_bytes = 0;     // freed blocks kept for reuse
  int64_t requests = 0;         // allocate() calls with nbytes > 0
  int64_t raw_allocations = 0;  // requests the cache could not serve, sent to the source
};

class CachingAllocator {
 public:
  // name says whose memory it is in errors ("cuda:0").
  CachingAllocator(std::unique_ptr<RawMemory> raw, std::string name);
  ~CachingAllocator();  // gives every cached block back
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least nbytes (nullptr for 0). Throws qn::Error when the source cannot provide it.
  void* allocate(size_t nbytes);
  // Returns a block from allocate(nbytes) to the cache.
  void free(void* ptr, size_t nbytes);
  // Gives every cached block back to the source (PyTorch's torch.cuda.empty_cache).
  void release_cache();

  CachingAllocatorStats stats() const;
  void reset_peak();

  // The size of the block a request of nbytes gets.
  static size_t size_class(size_t nbytes);

 private:
  void release_cache_locked();

  std::unique_ptr<RawMemory> raw_;
  const std::string name_;
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> cached_;  // size class -> free blocks
  CachingAllocatorStats stats_;
};

}  // namespace qn
