#include "data/idx.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>

#include "data/gz_file.h"

namespace qn::data {
namespace {

constexpr const char* kOp = "read_idx";

struct ElementType {
  DType dtype;
  int file_bytes;
};

ElementType element_type(uint8_t code, const std::string& path) {
  switch (code) {
    case 0x08:
      return {DType::u8, 1};
    case 0x09:
      return {DType::i8, 1};
    case 0x0B:
      return {DType::i32, 2};  // i16, widened
    case 0x0C:
      return {DType::i32, 4};
    case 0x0D:
      return {DType::f32, 4};
    case 0x0E:
      return {DType::f64, 8};
    default:
      break;
  }
  throw_error(kOp, detail::concat("'", path, "' has unknown element type 0x", std::hex, static_cast<int>(code)));
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Converts n big-endian elements of width bytes in raw to the tensor's type.
void decode(const std::vector<uint8_t>& raw, int width, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;  // raw.data() may be null, which memcpy may not be given even for 0 bytes
  auto word = [&](int64_t i) {
    uint64_t v = 0;
    for (int b = 0; b < width; ++b) v = (v << 8) | raw[static_cast<size_t>(i * width + b)];
    return v;
  };
  switch (out.dtype()) {
    case DType::u8:
      std::memcpy(out.raw_data(), raw.data(), static_cast<size_t>(n));
      break;
    case DType::i8:
      std::memcpy(out.raw_data(), raw.data(), static_cast<size_t>(n));
      break;
    case DType::i32:
      for (int64_t i = 0; i < n; ++i) {
        out.data_ptr<int32_t>()[i] = width == 2 ? static_cast<int16_t>(word(i)) : static_cast<int32_t>(word(i));
      }
      break;
    case DType::f32:
      for (int64_t i = 0; i < n; ++i) out.data_ptr<float>()[i] = std::bit_cast<float>(static_cast<uint32_t>(word(i)));
      break;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) out.data_ptr<double>()[i] = std::bit_cast<double>(word(i));
      break;
    default:
      throw_error(kOp, "unreachable element type");
  }
}

}  // namespace

Tensor read_idx(const std::string& path) {
  GzHandle file = open_gz(path, kOp);
  uint8_t magic[4];
  read_exactly(file.get(), magic, 4, path, kOp, "magic number");
  QN_CHECK(magic[0] == 0 && magic[1] == 0, kOp, "'", path,
           "' is not an IDX file (its magic number does not start with two zero bytes)");
  const ElementType type = element_type(magic[2], path);
  const int ndims = magic[3];
  QN_CHECK(ndims >= 1 && ndims <= SmallDims::kMaxDims, kOp, "'", path, "' declares ", ndims, " dims; expected 1 to ",
           SmallDims::kMaxDims);
  std::vector<uint8_t> dims_raw(static_cast<size_t>(4 * ndims));
  read_exactly(file.get(), dims_raw.data(), dims_raw.size(), path, kOp, "dims");
  Shape shape;
  uint64_t bytes = static_cast<uint64_t>(type.file_bytes);
  for (int d = 0; d < ndims; ++d) {
    const uint32_t size = big_endian_u32(&dims_raw[static_cast<size_t>(4 * d)]);
    // A zero dim empties the tensor, but the others still make its strides: each counts as at least 1.
    QN_CHECK(!__builtin_mul_overflow(bytes, std::max<uint32_t>(size, 1), &bytes) && bytes <= kMaxIdxBytes, kOp, "'",
             path, "' declares an absurd size (dim ", d, " = ", size, ")");
    shape.push_back(size);
  }
  uint64_t elements = 1;
  for (const int64_t size : shape) elements *= static_cast<uint64_t>(size);
  const std::vector<uint8_t> raw = read_exactly(file.get(), elements * type.file_bytes, path, kOp, "data");
  uint8_t extra;
  QN_CHECK(gzread(file.get(), &extra, 1) == 0, kOp, "'", path, "' has bytes after the ", shape,
           " elements it declares");
  Tensor out = empty(shape, type.dtype);
  decode(raw, type.file_bytes, out);
  return out;
}

}  // namespace qn::data
