// safetensors: round trips for every dtype, and each kind of malformed file rejected with its own error.
#include "core/safetensors.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

// A file from a header string and raw data bytes, with the length prefix as given.
std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data, uint64_t length) {
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(length >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}
std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data) {
  return make_file(header, data, header.size());
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("qn_test_" + std::to_string(getpid()) + "_" + name);
}

TEST(Safetensors, RoundTripsEveryDtypeThroughAFile) {
  std::vector<NamedTensor> tensors;
  for (DType t : kAllDTypes) {
    Tensor x = arange(-3, 9, 1, DType::f64).view({3, 4}).to(t);
    tensors.push_back({"w." + std::string(dtype_name(t)), x});
  }
  tensors.push_back({"scalar", scalar_tensor(2.5)});
  tensors.push_back({"empty", zeros({0, 5})});
  tensors.push_back({"strided", arange(0, 12, 1).view({3, 4}).t()});  // written contiguous
  const auto path = temp_path("roundtrip.safetensors");
  save_safetensors(path, tensors, {{"format", "pt"}});
  const SafetensorsContent loaded = load_safetensors(path);
  // The atomic writer's temporary file gets the permissions a plain fopen would give (0666 less the umask).
  const mode_t mask = umask(0);
  umask(mask);
  EXPECT_EQ(static_cast<mode_t>(std::filesystem::status(path).permissions()), 0666 & ~mask);
  std::filesystem::remove(path);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  EXPECT_EQ(loaded.metadata.at("format"), "pt");
  for (const NamedTensor& want : tensors) {
    const Tensor& got = loaded.at(want.name);
    EXPECT_EQ(got.dtype(), want.tensor.dtype()) << want.name;
    ASSERT_EQ(got.shape(), want.tensor.shape()) << want.name;
    for (const auto& idx : testing::all_indices(got.shape())) {
      const double expected = at(want.tensor, idx);
      EXPECT_EQ(at(got, idx), expected) << want.name;
    }
  }
  EXPECT_QN_ERROR(loaded.at("missing"), "no tensor named 'missing'", "w.f32");
}

TEST(Safetensors, ParsesAHandWrittenFile) {
  // Two little-endian f32 values 1.0 (0x3f800000) and -2.0 (0xc0000000), and a u8 tensor.
  const std::string header = R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[8,9]},)"
                             R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const auto bytes = make_file(header, {0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 200});
  const SafetensorsContent c = parse_safetensors(bytes);
  EXPECT_EQ(at(c.at("a"), {0}), 1.0);
  EXPECT_EQ(at(c.at("a"), {1}), -2.0);
  EXPECT_EQ(at(c.at("b"), {0}), 200.0);
  EXPECT_EQ(c.tensors[0].name, "a");  // offset order
}

TEST(Safetensors, SerializedHeaderIsPaddedAndLoadable) {
  const auto bytes = serialize_safetensors({{"x", ones({3})}});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 12);
  EXPECT_EQ(at(parse_safetensors(bytes).at("x"), {2}), 1.0);
}

const std::string kGood = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
const std::vector<uint8_t> kData(8, 0);

TEST(SafetensorsRejects, FileShorterThanLengthPrefix) {
  EXPECT_QN_ERROR(parse_safetensors(std::vector<uint8_t>{1, 2, 3}), "shorter than the 8-byte header length");
}
TEST(SafetensorsRejects, HeaderLengthLargerThanFile) {
  EXPECT_QN_ERROR(parse_safetensors(make_file(kGood, kData, 5000)), "header length 5000 is larger than the");
}
TEST(SafetensorsRejects, AbsurdHeaderLength) {
  EXPECT_QN_ERROR(parse_safetensors(make_file(kGood, kData, ~uint64_t{0})), "exceeds the", "limit");
}
TEST(SafetensorsRejects, TruncatedData) {
  EXPECT_QN_ERROR(parse_safetensors(make_file(kGood, {0, 0, 0, 0})), "beyond the 4-byte data section", "truncated");
}
TEST(SafetensorsRejects, TruncatedFileOnDisk) {
  const auto path = temp_path("truncated.safetensors");
  save_safetensors(path, {{"w", ones({100})}});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  EXPECT_QN_ERROR(load_safetensors(path), "beyond the", "truncated");
  EXPECT_QN_ERROR(load_safetensors_metadata(path), "beyond the", "truncated");  // the header alone tells
  std::filesystem::remove(path);
}

// The metadata alone, as a tool reads it to learn which model a file holds before loading the tensors.
TEST(Safetensors, MetadataAloneIsTheFilesMetadata) {
  const auto path = temp_path("metadata.safetensors");
  save_safetensors(path, {{"w", ones({4, 3})}, {"b", zeros({3})}}, {{"format", "pt"}, {"model", "{\"arch\": 1}"}});
  const std::map<std::string, std::string> expected = {{"format", "pt"}, {"model", "{\"arch\": 1}"}};
  EXPECT_EQ(load_safetensors_metadata(path), expected);
  EXPECT_EQ(load_safetensors(path).metadata, expected);
  std::filesystem::remove(path);
  EXPECT_QN_ERROR(load_safetensors_metadata(path), "cannot open '");
}
TEST(SafetensorsRejects, OffsetsOutOfRange) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "[100, 108]", "beyond the 8-byte data section");
}
TEST(SafetensorsRejects, OverlappingTensors) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "overlaps the previous tensor");
}
TEST(SafetensorsRejects, HoleInDataSection) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "hole at [0, 4)");
}
TEST(SafetensorsRejects, TrailingBytes) {
  EXPECT_QN_ERROR(parse_safetensors(make_file(kGood, std::vector<uint8_t>(12, 0))), "4 trailing bytes");
}
TEST(SafetensorsRejects, UnknownDtype) {
  const std::string h = R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "unknown dtype 'F33'");
}
TEST(SafetensorsRejects, UnsupportedKnownDtype) {
  const std::string h = R"({"a":{"dtype":"BOOL","shape":[8],"data_offsets":[0,8]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "dtype BOOL", "does not support");
}
TEST(SafetensorsRejects, ShapeSizeMismatch) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "needs 12 bytes but data_offsets [0, 8] span 8");
}
TEST(SafetensorsRejects, AbsurdShape) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "absurd shape");
}
TEST(SafetensorsRejects, NegativeShape) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "non-negative integers");
}
TEST(SafetensorsRejects, NonUtf8Header) {
  const std::string h =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":")" + std::string("\xff") + R"("}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, kData)), "not valid UTF-8");
  const std::string overlong = R"({"__metadata__":{"k":")" + std::string("\xc0\xaf") + R"("}})";  // '/' overlong
  EXPECT_QN_ERROR(parse_safetensors(make_file(overlong, {})), "not valid UTF-8");
  const std::string surrogate = R"({"__metadata__":{"k":")" + std::string("\xed\xa0\x80") + R"("}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(surrogate, {})), "not valid UTF-8");
  const std::string cut = R"({"__metadata__":{"k":"a"}})" + std::string("\xe2\x82");  // sequence cut short
  EXPECT_QN_ERROR(parse_safetensors(make_file(cut, {})), "not valid UTF-8");
  const std::string fine = R"({"__metadata__":{"k":")" + std::string("\xe2\x82\xac") + R"("}})";  // the euro sign
  EXPECT_EQ(parse_safetensors(make_file(fine, {})).metadata.at("k"), "\xe2\x82\xac");
}
TEST(SafetensorsRejects, MalformedJson) {
  EXPECT_QN_ERROR(parse_safetensors(make_file(R"({"a":{"dtype":"F32",)", kData)), "malformed JSON header");
  EXPECT_QN_ERROR(parse_safetensors(make_file(R"([1, 2, 3])", {})), "must be a JSON object");
}
TEST(SafetensorsRejects, MissingOrUnexpectedFields) {
  EXPECT_QN_ERROR(parse_safetensors(make_file(R"({"a":{"dtype":"F32","shape":[2]}})", kData)), "needs data_offsets");
  const std::string extra = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(extra, kData)), "unexpected field 'x'");
  EXPECT_QN_ERROR(parse_safetensors(make_file(R"({"__metadata__":{"k":3}})", {})), "'k' is not a string");
}
TEST(SafetensorsRejects, DuplicateNames) {
  const std::string h = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                        R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_QN_ERROR(parse_safetensors(make_file(h, {1, 2})), "names 'a' twice");
}
TEST(SafetensorsRejects, MissingFile) {
  EXPECT_QN_ERROR(load_safetensors("/nonexistent/dir/x.safetensors"), "cannot open '/nonexistent/dir/x.safetensors'");
}

TEST(SafetensorsWrite, IsAtomicAndChecksNames) {
  const auto path = temp_path("atomic.safetensors");
  save_safetensors(path, {{"a", ones({2})}});
  // A failing save (duplicate name) leaves the previous file intact and no temporary behind.
  EXPECT_QN_ERROR(save_safetensors(path, {{"b", ones({2})}, {"b", ones({2})}}), "'b' given twice");
  EXPECT_EQ(load_safetensors(path).tensors[0].name, "a");
  for (const auto& entry : std::filesystem::directory_iterator(path.parent_path())) {
    EXPECT_NE(entry.path().filename().string().rfind("." + path.filename().string() + ".tmp.", 0), 0u) << entry.path();
  }
  std::filesystem::remove(path);
  EXPECT_QN_ERROR(save_safetensors("/nonexistent/dir/x.safetensors", {{"a", ones({1})}}), "cannot create");
}

}  // namespace
}  // namespace qn
