// IDX reading: every element type, plain and gzipped, and each malformed case (the real sets: real_data_test).
#include "data/idx.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "tests/reference.h"

namespace qn::data {
namespace {

namespace fs = std::filesystem;
using testing::at;

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() / ("qn_idx_" + std::to_string(getpid()) + "_" + name);
}

// An IDX file from its parts: type code, dims, big-endian payload.
std::vector<uint8_t> idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

fs::path write(const std::string& name, const std::vector<uint8_t>& bytes, bool gzip = false) {
  const fs::path path = temp(name);
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  return path;
}

TEST(Idx, ReadsEveryElementTypeBigEndian) {
  const fs::path u8 = write("u8", idx_bytes(0x08, {2, 3}, {0, 1, 2, 250, 254, 255}));
  const Tensor a = read_idx(u8);
  EXPECT_EQ(a.dtype(), DType::u8);
  EXPECT_EQ(a.shape(), (Shape{2, 3}));
  EXPECT_EQ(at(a, {1, 2}), 255.0);
  const Tensor b = read_idx(write("i16", idx_bytes(0x0B, {2}, {0xff, 0xfe, 0x01, 0x00})));
  EXPECT_EQ(b.dtype(), DType::i32);
  EXPECT_EQ(at(b, {0}), -2.0);
  EXPECT_EQ(at(b, {1}), 256.0);
  const Tensor c = read_idx(write("i32", idx_bytes(0x0C, {1}, {0x80, 0, 0, 0})));
  EXPECT_EQ(at(c, {0}), -2147483648.0);
  const Tensor f = read_idx(write("f32", idx_bytes(0x0D, {1}, {0x3f, 0xc0, 0, 0})));  // 1.5
  EXPECT_EQ(at(f, {0}), 1.5);
  const Tensor d = read_idx(write("f64", idx_bytes(0x0E, {1}, {0xc0, 0x04, 0, 0, 0, 0, 0, 0})));  // -2.5
  EXPECT_EQ(at(d, {0}), -2.5);
  const Tensor i8 = read_idx(write("i8", idx_bytes(0x09, {1}, {0xff})));
  EXPECT_EQ(at(i8, {0}), -1.0);
  const Tensor z = read_idx(write("gz", idx_bytes(0x08, {3}, {7, 8, 9}), true));  // gzipped
  EXPECT_EQ(at(z, {2}), 9.0);
  for (const char* n : {"u8", "i16", "i32", "f32", "f64", "i8", "gz"}) fs::remove(temp(n));
}

TEST(Idx, RejectsMalformedFiles) {
  const std::vector<std::pair<std::vector<uint8_t>, const char*>> cases = {
      {{1, 0, 8, 1, 0, 0, 0, 1, 5}, "not an IDX file"},
      {idx_bytes(0x07, {1}, {1}), "unknown element type 0x7"},
      {idx_bytes(0x08, {}, {}), "declares 0 dims"},
      {idx_bytes(0x08, {4}, {1, 2}), "ends early while reading the data"},
      {idx_bytes(0x08, {2}, {1, 2, 3}), "bytes after the [2] elements"},
      {idx_bytes(0x0E, {0xffffffff, 0xffffffff}, {}), "absurd size"},
      {{0, 0}, "ends early while reading the magic number"},
      {{0, 0, 8, 2, 0, 0}, "ends early while reading the dims"},
  };
  for (const auto& [bytes, message] : cases) {
    const fs::path path = write("bad", bytes);
    EXPECT_QN_ERROR(read_idx(path), "read_idx", message);
    fs::remove(path);
  }
  EXPECT_QN_ERROR(read_idx("/nonexistent/file.idx"), "cannot open");
}

}  // namespace
}  // namespace qn::data
