// Random draws for data loading that depend only on what they are for, never on which thread draws them:
// a Philox 4x32-10 stream keyed by the run's seed and addressed by (purpose, epoch, item). Word n of the
// stream for (purpose, epoch, item) is word n % 4 of philox(counter = (n / 4, item low, item high,
// epoch), key = (seed low, seed high ^ purpose)). The shuffle of epoch e and the augmentation of sample i in
// epoch e are therefore the same with 1 worker or 8, on rank 0 or rank 3, before or after a resume.
#pragma once

#include <cstdint>
#include <vector>

#include "core/philox.h"

namespace qn::data {

enum class DrawPurpose : uint32_t { kSampleOrder = 0x5348u, kBatchOrder = 0x4241u, kAugment = 0x4155u };

class SampleRandom {
 public:
  SampleRandom(uint64_t seed, DrawPurpose purpose, int64_t epoch, int64_t item)
      : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32) ^ static_cast<uint32_t>(purpose)},
        item_(static_cast<uint64_t>(item)),
        epoch_(static_cast<uint32_t>(epoch)) {}

  uint32_t next_word() {
    if (used_ == 4) {
      block_ = philox::philox4x32_10(
          {block_index_++, static_cast<uint32_t>(item_), static_cast<uint32_t>(item_ >> 32), epoch_}, key_);
      used_ = 0;
    }
    return block_[used_++];
  }
  uint64_t next_u64() {
    const uint64_t hi = next_word();
    return (hi << 32) | next_word();
  }
  // Uniform in [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Uniform integer in [0, n), n > 0 (the modulo bias is below 2^-40 for any n a data set has).
  int64_t below(int64_t n) { return static_cast<int64_t>(next_u64() % static_cast<uint64_t>(n)); }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  philox::Key key_;
  uint64_t item_;
  uint32_t epoch_;
  uint32_t block_index_ = 0;
  philox::Counter block_{};
  int used_ = 4;
};

// A permutation of 0..n-1: each position gets a 64-bit key from the stream, positions sorted by key.
std::vector<int64_t> random_permutation(int64_t n, SampleRandom& random);

}  // namespace qn::data
