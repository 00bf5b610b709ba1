#include "core/caching_allocator.h"

#include <algorithm>
#include <functional>

#include "core/error.h"

namespace qn {
namespace {

constexpr size_t kGranule = 512;                   // every request rounds up to this
constexpr size_t kSmallRequest = size_t{1} << 20;  // up to this, the small pool
constexpr size_t kSmallSegment = size_t{2} << 20;
constexpr size_t kMediumRequest = size_t{10} << 20;  // up to this, 20 MiB segments shared by several blocks
constexpr size_t kMediumSegment = size_t{20} << 20;
constexpr size_t kLargeRounding = size_t{2} << 20;

size_t round_up(size_t n, size_t step) { return (n + step - 1) / step * step; }

}  // namespace

// A block of a segment: its address and size, whether it is handed out, and its neighbours in the segment (null at
// the segment's ends). A segment is its chain of blocks; a free block with no neighbours is a whole free segment.
struct CachingAllocator::Block {
  char* ptr = nullptr;
  size_t size = 0;
  bool in_use = false;
  bool small = false;  // of a 2 MiB segment
  Block* prev = nullptr;
  Block* next = nullptr;
};

bool CachingAllocator::BySizeThenAddress::operator()(const Block* a, const Block* b) const {
  return a->size != b->size ? a->size < b->size : std::less<const char*>()(a->ptr, b->ptr);
}

size_t CachingAllocator::rounded_size(size_t nbytes) { return round_up(nbytes, kGranule); }

size_t CachingAllocator::segment_size(size_t rounded) {
  if (rounded <= kSmallRequest) return kSmallSegment;
  if (rounded <= kMediumRequest) return kMediumSegment;
  return round_up(rounded, kLargeRounding);
}

CachingAllocator::CachingAllocator(std::unique_ptr<RawMemory> raw, std::string name)
    : raw_(std::move(raw)), name_(std::move(name)) {}

CachingAllocator::~CachingAllocator() {
  // Blocks still handed out belong to tensors that outlive the allocator (process exit): their segments stay.
  release_cache_locked();
}

CachingAllocator::FreeBlocks& CachingAllocator::pool_of(size_t rounded) {
  return rounded <= kSmallRequest ? small_free_ : large_free_;
}

// A new segment for a request of `rounded` bytes, as one free block; nullptr when the source has no memory.
CachingAllocator::Block* CachingAllocator::new_segment(size_t rounded) {
  size_t size = segment_size(rounded);
  void* ptr = raw_->allocate(size);
  if (ptr == nullptr) {  // give back the segments nothing uses, then try again, then with just the request's size
    release_cache_locked();
    ptr = raw_->allocate(size);
    if (ptr == nullptr && size > rounded && rounded > kSmallRequest) {
      size = rounded;
      ptr = raw_->allocate(size);
    }
  }
  if (ptr == nullptr) return nullptr;
  ++stats_.raw_allocations;
  stats_.reserved_bytes += static_cast<int64_t>(size);
  stats_.cached_bytes += static_cast<int64_t>(size);
  return new_record(Block{static_cast<char*>(ptr), size, false, rounded <= kSmallRequest, nullptr, nullptr});
}

CachingAllocator::Block* CachingAllocator::new_record(const Block& value) {
  Block* block = nullptr;
  if (spare_records_.empty()) {
    blocks_.push_back(std::make_unique<Block>());
    block = blocks_.back().get();
  } else {
    block = spare_records_.back();
    spare_records_.pop_back();
  }
  *block = value;
  return block;
}

void* CachingAllocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const size_t size = rounded_size(nbytes);
  std::lock_guard lock(mutex_);
  ++stats_.requests;
  FreeBlocks& pool = pool_of(size);
  Block key{nullptr, size};
  Block* block = nullptr;
  if (auto found = pool.lower_bound(&key); found != pool.end()) {
    block = *found;
    pool.erase(found);
  } else {
    block = new_segment(size);
    QN_CHECK(block != nullptr, "allocate", "out of memory on ", name_, ": asked for ", size, " bytes with ",
             stats_.live_bytes, " bytes in use");
  }
  // Split off the rest when it is worth a block of its own.
  const size_t rest = block->size - size;
  if (block->small ? rest >= kGranule : rest > kSmallRequest) {
    Block* tail = new_record(Block{block->ptr + size, rest, false, block->small, block, block->next});
    if (block->next != nullptr) block->next->prev = tail;
    block->next = tail;
    block->size = size;
    pool.insert(tail);
  }
  block->in_use = true;
  in_use_.emplace(block->ptr, block);
  stats_.live_bytes += static_cast<int64_t>(block->size);
  stats_.cached_bytes -= static_cast<int64_t>(block->size);
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.live_bytes);
  return block->ptr;
}

void CachingAllocator::free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  const auto found = in_use_.find(ptr);
  QN_CHECK(found != in_use_.end(), "free", "address not handed out by the allocator of ", name_);
  Block* block = found->second;
  QN_CHECK(block->size >= rounded_size(nbytes), "free", "a block of ", block->size, " bytes freed as ", nbytes);
  in_use_.erase(found);
  block->in_use = false;
  stats_.live_bytes -= static_cast<int64_t>(block->size);
  stats_.cached_bytes += static_cast<int64_t>(block->size);
  FreeBlocks& pool = block->small ? small_free_ : large_free_;
  // Merge with a free neighbour on either side: the earlier block absorbs the later one.
  const auto absorb = [&](Block* first, Block* second) {
    first->size += second->size;
    first->next = second->next;
    if (second->next != nullptr) second->next->prev = first;
    spare_records_.push_back(second);
  };
  if (Block* next = block->next; next != nullptr && !next->in_use) {
    pool.erase(next);
    absorb(block, next);
  }
  if (Block* prev = block->prev; prev != nullptr && !prev->in_use) {
    pool.erase(prev);
    absorb(prev, block);
    block = prev;
  }
  pool.insert(block);
}

void CachingAllocator::release_cache() {
  std::lock_guard lock(mutex_);
  release_cache_locked();
}

void CachingAllocator::release_cache_locked() {
  for (FreeBlocks* pool : {&small_free_, &large_free_}) {
    for (auto it = pool->begin(); it != pool->end();) {
      Block* block = *it;
      if (block->prev != nullptr || block->next != nullptr) {  // part of a segment still in use
        ++it;
        continue;
      }
      raw_->free(block->ptr, block->size);
      stats_.reserved_bytes -= static_cast<int64_t>(block->size);
      stats_.cached_bytes -= static_cast<int64_t>(block->size);
      spare_records_.push_back(block);
      it = pool->erase(it);
    }
  }
}

CachingAllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_bytes = stats_.live_bytes;
}

}  // namespace qn
