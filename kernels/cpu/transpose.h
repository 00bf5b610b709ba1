// dst (cols, rows) = src (rows, cols) transposed, for the kernels that switch an image between planes (C, H*W)
// and rows of channels (H*W, C). Floats move in 8 x 8 blocks through AVX registers (eight loads, 24 shuffles,
// eight stores), where element by element each value is its own load and store; other types, builds without AVX
// and the ragged edges go element by element in 16 x 16 tiles that stay in L1.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace qn::kernels::cpu {

namespace transpose_impl {

template <class T>
void transpose_elements(const T* src, int64_t rows, int64_t cols, int64_t row_begin, int64_t col_begin, T* dst) {
  constexpr int64_t kTile = 16;
  for (int64_t i0 = row_begin; i0 < rows; i0 += kTile) {
    const int64_t i1 = std::min(rows, i0 + kTile);
    for (int64_t j0 = col_begin; j0 < cols; j0 += kTile) {
      const int64_t j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i) {
        for (int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
      }
    }
  }
}

#if defined(__AVX__)
// The 8 x 8 block at src (row stride src_stride) written transposed at dst (row stride dst_stride).
inline void transpose_block8(const float* src, int64_t src_stride, float* dst, int64_t dst_stride) {
  __m256 r[8], t[8];
  for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(src + k * src_stride);
  for (int k = 0; k < 8; k += 2) {  // interleave row pairs: (a0 b0 a1 b1 | a4 b4 a5 b5), (a2 b2 a3 b3 | a6 b6 a7 b7)
    t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
    t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
  }
  for (int k = 0; k < 8; k += 4) {  // four rows' elements 0, 1, 4, 5 and 2, 3, 6, 7 gathered per 128-bit lane
    r[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
    r[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE);
    r[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
    r[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
  }
  for (int k = 0; k < 4; ++k) {  // the low lanes of rows 0-3 and 4-7 make columns 0-3, the high lanes 4-7
    _mm256_storeu_ps(dst + k * dst_stride, _mm256_permute2f128_ps(r[k], r[k + 4], 0x20));
    _mm256_storeu_ps(dst + (k + 4) * dst_stride, _mm256_permute2f128_ps(r[k], r[k + 4], 0x31));
  }
}
#endif

}  // namespace transpose_impl

template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, T* dst) {
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    // Blocks in 64 x 64 tiles, so that each cache line of dst is written whole while the tile is in L1: along
    // whole rows of blocks instead, a line of dst got its two halves a full sweep apart (planes of 112 x 112
    // pixels), and was fetched twice.
    constexpr int64_t kTile = 64;
    const int64_t full_rows = rows / 8 * 8, full_cols = cols / 8 * 8;
    for (int64_t i0 = 0; i0 < full_rows; i0 += kTile) {
      for (int64_t j0 = 0; j0 < full_cols; j0 += kTile) {
        for (int64_t i = i0; i < std::min(full_rows, i0 + kTile); i += 8) {
          for (int64_t j = j0; j < std::min(full_cols, j0 + kTile); j += 8) {
            transpose_impl::transpose_block8(src + i * cols + j, cols, dst + j * rows + i, rows);
          }
        }
      }
    }
    // The edges: the last columns of the full rows, then the last rows whole.
    for (int64_t i = 0; i < full_rows; ++i) {
      for (int64_t j = full_cols; j < cols; ++j) dst[j * rows + i] = src[i * cols + j];
    }
    transpose_impl::transpose_elements(src, rows, cols, full_rows, 0, dst);
    return;
  }
#endif
  transpose_impl::transpose_elements(src, rows, cols, 0, 0, dst);
}

}  // namespace qn::kernels::cpu
