// A loader that makes an epoch's batches on worker threads ahead of the consumer and hands them out in order.
//
// What a batch holds is the caller's: plan(epoch) lists the sample indices of every batch of the epoch, and
// make(indices, epoch) turns one list into a batch (decoding, augmenting, padding). Both must be pure
// functions of their arguments, drawing any randomness from SampleRandom(seed, purpose, epoch, sample); then
// the batches are the same with 0, 1 or 8 workers, and the loader's position, (epoch, next batch), is all a
// checkpoint needs to continue with the exact next batch after a resume.
//
// workers = 0 makes each batch on the calling thread when it is asked for. Otherwise each worker takes the
// next unclaimed batch as long as it is fewer than workers * prefetch_per_worker batches ahead of the
// consumer. A batch whose make() threw rethrows in the consumer when that batch is asked for. Workers run
// their kernels serially (one thread each), leaving the OpenMP pool to the consumer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "data/batching.h"

namespace qn::data {

struct LoaderOptions {
  int workers = 0;
  int prefetch_per_worker = 2;
};

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t next_batch = 0;
  bool operator==(const LoaderPosition&) const = default;
};

template <typename Batch>
class Loader {
 public:
  using Plan = std::function<std::vector<IndexBatch>(int64_t epoch)>;
  using Make = std::function<Batch(const IndexBatch& indices, int64_t epoch)>;

  Loader(Plan plan, Make make, LoaderOptions options = {})
      : plan_(std::move(plan)), make_(std::move(make)), options_(options) {
    QN_CHECK(options_.workers >= 0 && options_.prefetch_per_worker >= 1, "Loader",
             "expected workers >= 0 and prefetch_per_worker >= 1, got ", options_.workers, " and ",
             options_.prefetch_per_worker);
    for (int w = 0; w < options_.workers; ++w) threads_.emplace_back([this] { work(); });
  }
  ~Loader() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_workers_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Plans `epoch` and moves to its first batch.
  void begin_epoch(int64_t epoch) { seek({epoch, 0}); }
  // Moves to any position (a resumed run's); plans the epoch when it is not the current one.
  void seek(LoaderPosition position) {
    std::unique_lock lock(mutex_);
    if (!planned_ || position.epoch != epoch_) {
      lock.unlock();
      std::vector<IndexBatch> batches = plan_(position.epoch);  // outside the lock: may be slow
      lock.lock();
      batches_ = std::move(batches);
      epoch_ = position.epoch;
      planned_ = true;
    }
    QN_CHECK(position.next_batch >= 0 && position.next_batch <= static_cast<int64_t>(batches_.size()), "Loader",
             "position ", position.next_batch, " is outside epoch ", position.epoch, "'s ", batches_.size(),
             " batches");
    ++generation_;  // batches in flight for the old position are discarded
    ready_.clear();
    next_ = next_claim_ = position.next_batch;
    lock.unlock();
    wake_workers_.notify_all();
  }

  int64_t batches_in_epoch() const {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(batches_.size());
  }
  LoaderPosition position() const {
    std::lock_guard lock(mutex_);
    return {epoch_, next_};
  }
  bool done() const {
    std::lock_guard lock(mutex_);
    return next_ >= static_cast<int64_t>(batches_.size());
  }

  // The next batch of the epoch; an error past its end.
  Batch next() {
    std::unique_lock lock(mutex_);
    QN_CHECK(planned_, "Loader", "next() before begin_epoch()");
    QN_CHECK(next_ < static_cast<int64_t>(batches_.size()), "Loader", "epoch ", epoch_, " has only ", batches_.size(),
             " batches");
    const int64_t index = next_;
    if (threads_.empty()) {
      ++next_;
      const IndexBatch indices = batches_[static_cast<size_t>(index)];
      const int64_t epoch = epoch_;
      lock.unlock();
      return make_(indices, epoch);
    }
    batch_ready_.wait(lock, [&] { return ready_.count(index) > 0; });
    Slot slot = std::move(ready_.at(index));
    ready_.erase(index);
    ++next_;
    lock.unlock();
    wake_workers_.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(slot.batch);
  }
  // Batch `index` of the current epoch: the next one without delay, any other after a seek.
  Batch batch(int64_t index) {
    if (const LoaderPosition at = position(); at.next_batch != index) seek({at.epoch, index});
    return next();
  }

 private:
  struct Slot {
    Batch batch{};
    std::exception_ptr error;
  };

  void work() {
    run_serially_on_this_thread();  // the engine's pool is the consumer's; see core/parallel.h
    std::unique_lock lock(mutex_);
    for (;;) {
      const int64_t window = static_cast<int64_t>(options_.workers) * options_.prefetch_per_worker;
      wake_workers_.wait(lock, [&] {
        return stopping_ ||
               (planned_ && next_claim_ < static_cast<int64_t>(batches_.size()) && next_claim_ < next_ + window);
      });
      if (stopping_) return;
      const int64_t index = next_claim_++;
      const uint64_t generation = generation_;
      const IndexBatch indices = batches_[static_cast<size_t>(index)];
      const int64_t epoch = epoch_;
      lock.unlock();
      Slot slot;
      try {
        slot.batch = make_(indices, epoch);
      } catch (...) {
        slot.error = std::current_exception();
      }
      lock.lock();
      if (generation == generation_) {
        ready_.emplace(index, std::move(slot));
        batch_ready_.notify_all();
      }
    }
  }

  Plan plan_;
  Make make_;
  LoaderOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_workers_, batch_ready_;
  bool stopping_ = false;
  bool planned_ = false;
  int64_t epoch_ = 0;
  std::vector<IndexBatch> batches_;
  int64_t next_ = 0;        // the consumer's next batch
  int64_t next_claim_ = 0;  // the next batch a worker takes
  uint64_t generation_ = 0;
  std::map<int64_t, Slot> ready_;
  std::vector<std::thread> threads_;
};

}  // namespace qn::data
