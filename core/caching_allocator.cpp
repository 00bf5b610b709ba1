#include "core/caching_allocator.h"

#include <algorithm>
#include <bit>

#include "core/error.h"

namespace qn {
namespace {

constexpr size_t kSmallGranule = 512;
constexpr size_t kLargeFrom = size_t{1} << 20;

}  // namespace

size_t CachingAllocator::size_class(size_t nbytes) {
  if (nbytes == 0) return 0;
  if (nbytes < kLargeFrom) return (nbytes + kSmallGranule - 1) / kSmallGranule * kSmallGranule;
  // Four classes per power of two: a quarter of the power below nbytes is the step.
  const size_t step = std::bit_floor(nbytes) / 4;
  return (nbytes + step - 1) / step * step;
}

CachingAllocator::CachingAllocator(std::unique_ptr<RawMemory> raw, std::string name)
    : raw_(std::move(raw)), name_(std::move(name)) {}

CachingAllocator::~CachingAllocator() { release_cache_locked(); }

void* CachingAllocator::allocate(size_t nbytes) {
  const size_t size = size_class(nbytes);
  if (size == 0) return nullptr;
  std::lock_guard lock(mutex_);
  ++stats_.requests;
  void* ptr = nullptr;
  if (auto found = cached_.find(size); found != cached_.end() && !found->second.empty()) {
    ptr = found->second.back();
    found->second.pop_back();
    stats_.cached_bytes -= static_cast<int64_t>(size);
  } else {
    ++stats_.raw_allocations;
    ptr = raw_->allocate(size);
    if (ptr == nullptr) {  // the cache holds blocks of other sizes: give them back and try once more
      release_cache_locked();
      ptr = raw_->allocate(size);
    }
    QN_CHECK(ptr != nullptr, "allocate", "out of memory on ", name_, ": asked for ", size, " bytes with ",
             stats_.live_bytes, " bytes in use");
  }
  stats_.live_bytes += static_cast<int64_t>(size);
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.live_bytes);
  return ptr;
}

void CachingAllocator::free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  const size_t size = size_class(nbytes);
  std::lock_guard lock(mutex_);
  cached_[size].push_back(ptr);
  stats_.live_bytes -= static_cast<int64_t>(size);
  stats_.cached_bytes += static_cast<int64_t>(size);
}

void CachingAllocator::release_cache() {
  std::lock_guard lock(mutex_);
  release_cache_locked();
}

void CachingAllocator::release_cache_locked() {
  for (auto& [size, blocks] : cached_) {
    for (void* ptr : blocks) raw_->free(ptr, size);
  }
  cached_.clear();
  stats_.cached_bytes = 0;
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
