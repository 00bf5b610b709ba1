// A caching allocator over a source of memory whose allocation and release are costly. cudaMalloc and cudaFree
// synchronize the whole device, so a training step that gave its activations back to the driver and asked again
// each iteration would stall the GPU many times a step. As PyTorch's CUDA allocator does, it asks the source for
// segments and carves them into blocks:
//
// - A request rounds up to a multiple of 512 bytes. Requests up to 1 MiB come from 2 MiB segments, larger ones up
//   to 10 MiB from 20 MiB segments, and larger ones get a segment of their own (rounded up to 2 MiB).
// - A request takes the smallest free block of its pool that holds it; the rest of the block, if at least 512 bytes
//   (small pool) or over 1 MiB (large pool), is split off as a free block. A freed block merges with free
//   neighbours of its segment. So shapes that vary from step to step (adaptive softmax bands, k-means chunks) reuse
//   the same segments instead of each size class holding blocks of its own.
// - When the source is out of memory, the segments with nothing in use are given back and the request tried again,
//   then once more with a segment of exactly the request's size; if that fails too, the error names the bytes
//   asked and what is in use.
//
// Reuse is stream-ordered: all work on a device runs on its one stream, in order, so a block freed on the host once
// the kernels reading it were launched can go to kernels launched later, which cannot start before those end.
// Nothing here synchronizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
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
  int64_t live_bytes = 0;       // handed out and not yet freed, in rounded bytes
  int64_t peak_bytes = 0;       // highest live_bytes since the last reset
  int64_t cached_bytes = 0;     // held in segments but not handed out: reusable without asking the source
  int64_t reserved_bytes = 0;   // every segment together: live_bytes + cached_bytes
  int64_t requests = 0;         // allocate() calls with nbytes > 0
  int64_t raw_allocations = 0;  // segments asked of the source
};

class CachingAllocator {
 public:
  // name says whose memory it is in errors ("cuda:0").
  CachingAllocator(std::unique_ptr<RawMemory> raw, std::string name);
  ~CachingAllocator();  // gives every segment back
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least nbytes (nullptr for 0). Throws qn::Error when the source cannot provide it.
  void* allocate(size_t nbytes);
  // Returns a block from allocate(nbytes) to the cache.
  void free(void* ptr, size_t nbytes);
  // Gives every segment with nothing in use back to the source (PyTorch's torch.cuda.empty_cache).
  void release_cache();

  CachingAllocatorStats stats() const;
  void reset_peak();

  // The bytes a request of nbytes takes: a multiple of 512.
  static size_t rounded_size(size_t nbytes);
  // The segment asked of the source for a request of `rounded` bytes.
  static size_t segment_size(size_t rounded);

 private:
  struct Block;
  struct BySizeThenAddress {
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreeBlocks = std::set<Block*, BySizeThenAddress>;

  FreeBlocks& pool_of(size_t rounded);
  Block* new_segment(size_t rounded);
  Block* new_record(const Block& value);
  void release_cache_locked();

  std::unique_ptr<RawMemory> raw_;
  const std::string name_;
  mutable std::mutex mutex_;
  FreeBlocks small_free_, large_free_;          // free blocks of the 2 MiB segments, and of the larger ones
  std::unordered_map<void*, Block*> in_use_;    // handed-out blocks by address
  std::vector<std::unique_ptr<Block>> blocks_;  // every block's record; merged and released ones are reused
  std::vector<Block*> spare_records_;
  CachingAllocatorStats stats_;
};

}  // namespace qn
