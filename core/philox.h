// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
// generator. Output block = philox(counter, key); any element of a stream is computed independently,
// so a CPU loop, an OpenMP loop and a CUDA kernel all draw the same numbers from the same (seed, offset).
#pragma once

#include <array>
#include <cstdint>

#if defined(__CUDACC__)
#define QN_HOST_DEVICE __host__ __device__
#else
#define QN_HOST_DEVICE
#endif

namespace qn::philox {

using Counter = std::array<uint32_t, 4>;
using Key = std::array<uint32_t, 2>;

inline constexpr uint32_t kMul0 = 0xD2511F53u;
inline constexpr uint32_t kMul1 = 0xCD9E8D57u;
inline constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

QN_HOST_DEVICE constexpr Counter round(const Counter& c, const Key& k) {
  const uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
  const uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
  return {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
          static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
}

// Ten rounds; the key advances by the Weyl constants between rounds.
QN_HOST_DEVICE constexpr Counter philox4x32_10(Counter c, Key k) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) k = {k[0] + kWeyl0, k[1] + kWeyl1};
    c = round(c, k);
  }
  return c;
}

// The engine's stream convention: the key is the 64-bit seed; block b of the stream uses counter
// (low 32 bits of b, high 32 bits of b, 0, 0). Each block yields four 32-bit words.
QN_HOST_DEVICE constexpr Counter block(uint64_t seed, uint64_t b) {
  return philox4x32_10({static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0u, 0u},
                       {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

// A uniform float in [0, 1) from the top 24 bits of a word (every value exactly representable).
QN_HOST_DEVICE constexpr float uniform_float(uint32_t word) { return static_cast<float>(word >> 8) * 0x1.0p-24f; }
// A uniform double in [0, 1) from 53 bits of two words.
QN_HOST_DEVICE constexpr double uniform_double(uint32_t hi, uint32_t lo) {
  return static_cast<double>(((static_cast<uint64_t>(hi) << 32) | lo) >> 11) * 0x1.0p-53;
}

}  // namespace qn::philox
