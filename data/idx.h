// IDX files (MNIST, Fashion-MNIST): a magic of two zero bytes, an element-type byte and a dim count, the dims
// as big-endian u32, then the elements, big-endian. Gzipped files are read transparently. The file is
// untrusted: type, dims and size are checked before anything is allocated, and short or overlong data is an
// error.
#pragma once

#include <string>

#include "core/tensor.h"

namespace qn::data {

// u8 -> u8, i8 -> i8, i16 and i32 -> i32, f32 -> f32, f64 -> f64.
Tensor read_idx(const std::string& path);

// Largest payload accepted: far above any IDX data set in use (Fashion-MNIST train images: 47 MB).
inline constexpr uint64_t kMaxIdxBytes = uint64_t{4} << 30;

}  // namespace qn::data
