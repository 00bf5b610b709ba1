#include "core/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"

namespace qn {
namespace {

using nlohmann::json;
constexpr const char* kOp = "safetensors";

// safetensors dtype names for ours; the other names the format defines are recognised and refused.
constexpr std::pair<DType, const char*> kFormatNames[] = {
    {DType::f32, "F32"}, {DType::f64, "F64"}, {DType::f16, "F16"}, {DType::bf16, "BF16"},
    {DType::i64, "I64"}, {DType::i32, "I32"}, {DType::u8, "U8"},   {DType::i8, "I8"}};
constexpr const char* kKnownUnsupported[] = {"BOOL",    "I16",     "U16", "U32",     "U64",     "F8_E4M3",
                                             "F8_E5M2", "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64"};

const char* format_name(DType t) {
  for (auto [dtype, name] : kFormatNames) {
    if (dtype == t) return name;
  }
  return "?";
}

DType parse_dtype(const std::string& name, const std::string& tensor) {
  for (auto [dtype, format] : kFormatNames) {
    if (name == format) return dtype;
  }
  for (const char* known : kKnownUnsupported) {
    QN_CHECK(name != known, kOp, "tensor '", tensor, "' has dtype ", name, ", which quantnoise does not support");
  }
  throw_error(kOp, detail::concat("tensor '", tensor, "' has unknown dtype '", name, "'"));
}

// A UTF-8 lead byte: how many continuation bytes follow, the smallest code point that length may encode
// (anything smaller is an overlong form), and the payload bits it carries. extra < 0: not a lead byte.
struct Utf8Lead {
  int extra;
  uint32_t min;
  uint32_t bits;
};

Utf8Lead utf8_lead(uint8_t c) {
  if (c < 0x80) return {0, 0, c};
  if ((c & 0xe0) == 0xc0) return {1, 0x80, c & 0x1fu};
  if ((c & 0xf0) == 0xe0) return {2, 0x800, c & 0x0fu};
  if ((c & 0xf8) == 0xf0) return {3, 0x10000, c & 0x07u};
  return {-1, 0, 0};
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF, no sequence cut short.
bool is_valid_utf8(std::span<const uint8_t> s) {
  size_t i = 0;
  while (i < s.size()) {
    const Utf8Lead lead = utf8_lead(s[i]);
    if (lead.extra < 0 || s.size() - i <= static_cast<size_t>(lead.extra)) return false;  // cut short
    uint32_t code = lead.bits;
    for (int k = 1; k <= lead.extra; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      code = (code << 6) | (s[i + k] & 0x3f);
    }
    if (code < lead.min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += lead.extra + 1;
  }
  return true;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin;
  uint64_t end;
};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t checked_uint(const json& value, const std::string& tensor, const char* field) {
  QN_CHECK(value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0), kOp, "tensor '",
           tensor, "': ", field, " must hold non-negative integers, got ", value.dump());
  return value.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const json& info) {
  QN_CHECK(!name.empty(), kOp, "a tensor has an empty name");
  QN_CHECK(info.is_object(), kOp, "tensor '", name, "': expected an object, got ", info.type_name());
  for (const auto& [key, value] : info.items()) {
    QN_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", kOp, "tensor '", name,
             "' has unexpected field '", key, "'");
  }
  QN_CHECK(info.contains("dtype") && info["dtype"].is_string(), kOp, "tensor '", name, "' has no string dtype");
  QN_CHECK(info.contains("shape") && info["shape"].is_array(), kOp, "tensor '", name, "' has no shape array");
  QN_CHECK(info.contains("data_offsets") && info["data_offsets"].is_array() && info["data_offsets"].size() == 2, kOp,
           "tensor '", name, "' needs data_offsets [begin, end]");
  Entry e;
  e.name = name;
  e.dtype = parse_dtype(info["dtype"].get<std::string>(), name);
  QN_CHECK(info["shape"].size() <= static_cast<size_t>(SmallDims::kMaxDims), kOp, "tensor '", name, "' has ",
           info["shape"].size(), " dimensions; at most ", SmallDims::kMaxDims, " are supported");
  uint64_t numel = 1;
  for (const json& d : info["shape"]) {
    const uint64_t size = checked_uint(d, name, "shape");
    QN_CHECK(!__builtin_mul_overflow(numel, size, &numel) && size <= (1ull << 62), kOp, "tensor '", name,
             "' has an absurd shape ", info["shape"].dump());
    e.shape.push_back(static_cast<int64_t>(size));
  }
  e.begin = checked_uint(info["data_offsets"][0], name, "data_offsets");
  e.end = checked_uint(info["data_offsets"][1], name, "data_offsets");
  QN_CHECK(e.begin <= e.end, kOp, "tensor '", name, "' has data_offsets [", e.begin, ", ", e.end,
           "] with begin after end");
  uint64_t nbytes = 0;
  QN_CHECK(!__builtin_mul_overflow(numel, dtype_size(e.dtype), &nbytes), kOp, "tensor '", name,
           "' has an absurd shape ", e.shape);
  QN_CHECK(nbytes == e.end - e.begin, kOp, "tensor '", name, "' of dtype ", format_name(e.dtype), " and shape ",
           e.shape, " needs ", nbytes, " bytes but data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin);
  return e;
}

// Parses and validates the JSON header against a data section of data_size bytes.
std::vector<Entry> parse_header(std::span<const uint8_t> header, uint64_t data_size,
                                std::map<std::string, std::string>& metadata) {
  QN_CHECK(is_valid_utf8(header), kOp, "header is not valid UTF-8");
  std::set<std::string> seen;
  bool duplicate = false;
  std::string duplicate_name;
  json::parser_callback_t reject_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second && !duplicate) {
        duplicate = true;
        duplicate_name = key;
      }
    }
    return true;
  };
  json root;
  try {
    root = json::parse(header.begin(), header.end(), reject_duplicates);
  } catch (const json::exception& e) {
    throw_error(kOp, detail::concat("malformed JSON header: ", e.what()));
  }
  QN_CHECK(!duplicate, kOp, "header names '", duplicate_name, "' twice");
  QN_CHECK(root.is_object(), kOp, "header must be a JSON object, got ", root.type_name());

  std::vector<Entry> entries;
  for (const auto& [name, info] : root.items()) {
    if (name == "__metadata__") {
      QN_CHECK(info.is_object(), kOp, "__metadata__ must be an object of strings");
      for (const auto& [key, value] : info.items()) {
        QN_CHECK(value.is_string(), kOp, "__metadata__ entry '", key, "' is not a string");
        metadata[key] = value.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, info));
  }
  // The data section must be covered exactly: in offset order, each tensor starts where the last ended.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    QN_CHECK(e.end <= data_size, kOp, "tensor '", e.name, "' has data_offsets [", e.begin, ", ", e.end, "] beyond the ",
             data_size, "-byte data section (truncated file?)");
    QN_CHECK(e.begin >= expected, kOp, "tensor '", e.name, "' at [", e.begin, ", ", e.end,
             ") overlaps the previous tensor, which ends at ", expected);
    QN_CHECK(e.begin == expected, kOp, "data section has a hole at [", expected, ", ", e.begin, ") before tensor '",
             e.name, "'");
    expected = e.end;
  }
  QN_CHECK(expected == data_size, kOp, "data section has ", data_size - expected,
           " trailing bytes that belong to no tensor");
  return entries;
}

uint64_t header_length(const uint8_t* prefix, uint64_t file_size) {
  const uint64_t n = read_u64_le(prefix);
  QN_CHECK(n <= kMaxSafetensorsHeader, kOp, "header length ", n, " exceeds the ", kMaxSafetensorsHeader, "-byte limit");
  QN_CHECK(n <= file_size - 8, kOp, "header length ", n, " is larger than the ", file_size - 8,
           " bytes that follow it (truncated or not a safetensors file)");
  QN_CHECK(n >= 2, kOp, "header length ", n, " is too small for a JSON object");
  return n;
}

}  // namespace

const Tensor& SafetensorsContent::at(const std::string& name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) return t.tensor;
  }
  std::string names;
  for (const NamedTensor& t : tensors) names += (names.empty() ? "" : ", ") + t.name;
  throw_error(kOp, detail::concat("no tensor named '", name, "' (the file has: ", names, ")"));
}

SafetensorsContent parse_safetensors(std::span<const uint8_t> bytes) {
  QN_CHECK(bytes.size() >= 8, kOp, "file is ", bytes.size(), " bytes, shorter than the 8-byte header length");
  const uint64_t n = header_length(bytes.data(), bytes.size());
  SafetensorsContent content;
  const uint64_t data_size = bytes.size() - 8 - n;
  const std::vector<Entry> entries = parse_header(bytes.subspan(8, n), data_size, content.metadata);
  const uint8_t* data = bytes.data() + 8 + n;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
    content.tensors.push_back({e.name, std::move(t)});
  }
  return content;
}

namespace {

// Opens path and reads and validates its header; `in` is left at the start of the data section.
std::vector<Entry> read_header(const std::string& path, std::ifstream& in,
                               std::map<std::string, std::string>& metadata) {
  in.open(path, std::ios::binary | std::ios::ate);
  QN_CHECK(in.is_open(), kOp, "cannot open '", path, "': ", std::strerror(errno));
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  QN_CHECK(file_size >= 8, kOp, "'", path, "' is ", file_size, " bytes, shorter than the 8-byte header length");
  uint8_t prefix[8];
  in.read(reinterpret_cast<char*>(prefix), 8);
  const uint64_t n = header_length(prefix, file_size);
  std::vector<uint8_t> header(n);
  in.read(reinterpret_cast<char*>(header.data()), static_cast<std::streamsize>(n));
  QN_CHECK(in.good(), kOp, "cannot read the header of '", path, "'");
  return parse_header(header, file_size - 8 - n, metadata);
}

}  // namespace

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path) {
  std::ifstream in;
  std::map<std::string, std::string> metadata;
  (void)read_header(path, in, metadata);
  return metadata;
}

SafetensorsContent load_safetensors(const std::string& path) {
  std::ifstream in;
  SafetensorsContent content;
  const std::vector<Entry> entries = read_header(path, in, content.metadata);
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(e.end - e.begin));
    QN_CHECK(in.good() || e.end == e.begin, kOp, "cannot read tensor '", e.name, "' from '", path, "'");
    content.tensors.push_back({e.name, std::move(t)});
  }
  return content;
}

namespace {

// The header bytes (padded with spaces to a multiple of 8, as the reference writer does) and the
// contiguous CPU tensors to write after it, in order.
std::pair<std::string, std::vector<Tensor>> prepare(const std::vector<NamedTensor>& tensors,
                                                    const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  if (!metadata.empty()) root["__metadata__"] = metadata;
  std::set<std::string> names;
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const NamedTensor& nt : tensors) {
    QN_CHECK(!nt.name.empty() && nt.name != "__metadata__", kOp, "invalid tensor name '", nt.name, "'");
    QN_CHECK(names.insert(nt.name).second, kOp, "tensor name '", nt.name, "' given twice");
    QN_CHECK(nt.tensor.defined(), kOp, "tensor '", nt.name, "' is undefined");
    const uint64_t nbytes = nt.tensor.nbytes();
    root[nt.name] = {{"dtype", format_name(nt.tensor.dtype())},
                     {"shape", nt.tensor.shape().vec()},
                     {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(nt.tensor.to(Device::cpu()).contiguous());  // a GPU tensor is read back
  }
  std::string header = root.dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  return {std::move(header), std::move(data)};
}

void append_u64_le(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

std::vector<uint8_t> serialize_safetensors(const std::vector<NamedTensor>& tensors,
                                           const std::map<std::string, std::string>& metadata) {
  auto [header, data] = prepare(tensors, metadata);
  size_t total = 8 + header.size();
  for (const Tensor& t : data) total += t.nbytes();
  std::vector<uint8_t> bytes(total);
  append_u64_le(header.size(), bytes.data());
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  size_t at = 8 + header.size();
  for (const Tensor& t : data) {
    if (t.nbytes() > 0) std::memcpy(bytes.data() + at, t.raw_data(), t.nbytes());
    at += t.nbytes();
  }
  return bytes;
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const auto prepared = prepare(tensors, metadata);
  // Named rather than a structured binding: clang 14 cannot capture those in a lambda.
  const auto& header = prepared.first;
  const auto& data = prepared.second;
  write_file_atomically(path, [&](std::FILE* file) {
    uint8_t length[8];
    append_u64_le(header.size(), length);
    write_bytes(file, length, 8, path);
    write_bytes(file, header.data(), header.size(), path);
    for (const Tensor& t : data) write_bytes(file, t.raw_data(), t.nbytes(), path);
  });
}

}  // namespace qn
