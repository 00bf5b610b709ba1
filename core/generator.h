// Generator: a Philox stream position (seed, offset). Each draw reserves the blocks it consumes by
// advancing offset, so two draws never overlap and a (seed, offset) pair replays a draw exactly.
#pragma once

#include <cstdint>
#include <mutex>

#include "core/tensor.h"

namespace qn {

class Generator {
 public:
  explicit Generator(uint64_t seed = kDefaultSeed) : seed_(seed) {}

  static constexpr uint64_t kDefaultSeed = 67280421310721ull;

  void manual_seed(uint64_t seed);
  uint64_t seed() const;
  uint64_t offset() const;  // in Philox blocks (4 words each)
  void set_offset(uint64_t offset);
  // Returns the first of `blocks` consecutive blocks and moves past them.
  uint64_t reserve(uint64_t blocks);

 private:
  mutable std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Random factories. Element i of a draw is a pure function of (seed, first block, i):
//   rand f32:  word i%4 of block i/4                   -> uniform [0, 1), 24 bits
//   rand f64:  words 2(i%2), 2(i%2)+1 of block i/2      -> uniform [0, 1), 53 bits
//   randn:     Box-Muller on a pair of uniforms; element pairs (2j, 2j+1) share one pair
//   randint:   words 2(i%2), 2(i%2)+1 of block i/2 as 64 bits, reduced to [low, high)
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions options = DType::i64,
               Generator* gen = nullptr);
// A random permutation of 0..n-1 (i64): element i gets the 64-bit key of words 2(i%2), 2(i%2)+1 of block
// i/2, and the permutation sorts the keys (ties by index), so it is a pure function of (seed, first block).
Tensor randperm(int64_t n, Generator* gen = nullptr);
// Dropout's keep mask (u8): 1 where element i's uniform draw u >= drop_probability, compared in dtype (f32:
// the 24-bit float, f64: the 53-bit double). The same draw, element for element, as
// compare(rand(shape, dtype, gen) >= drop_probability), without materializing the uniforms.
// On a GPU (options.device) the mask is drawn there, bit for bit the same.
Tensor keep_mask(const Shape& shape, TensorOptions options, double drop_probability, Generator* gen = nullptr);
// Fills t (any layout) with uniform values in [low, high).
Tensor& uniform_(Tensor& t, double low, double high, Generator* gen = nullptr);
// Fills t with normal values of the given mean and standard deviation.
Tensor& normal_(Tensor& t, double mean, double stddev, Generator* gen = nullptr);

}  // namespace qn
