#include "data/tar_archive.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/error.h"
#include "data/gz_file.h"

namespace qn::data {
namespace {

constexpr const char* kOp = "TarArchive";
constexpr size_t kBlock = 512;
using Header = std::array<uint8_t, kBlock>;

std::string field_string(const Header& h, size_t offset, size_t length) {
  const auto* begin = reinterpret_cast<const char*>(h.data() + offset);
  return {begin, static_cast<size_t>(std::find(begin, begin + length, '\0') - begin)};
}

// An octal field: optional leading spaces, digits, then NUL or space padding.
uint64_t octal_field(const Header& h, size_t offset, size_t length, const std::string& path, const char* what) {
  size_t i = offset;
  const size_t end = offset + length;
  while (i < end && h[i] == ' ') ++i;
  uint64_t value = 0;
  bool any = false;
  for (; i < end && h[i] >= '0' && h[i] <= '7'; ++i) {
    QN_CHECK(value < (uint64_t{1} << 60), kOp, "'", path, "': ", what, " field overflows");
    value = value * 8 + (h[i] - '0');
    any = true;
  }
  for (; i < end; ++i)
    QN_CHECK(h[i] == '\0' || h[i] == ' ', kOp, "'", path, "': ", what,
             " field is not octal (not a tar archive, or damaged)");
  QN_CHECK(any, kOp, "'", path, "': empty ", what, " field (not a tar archive, or damaged)");
  return value;
}

bool all_zero(const Header& h) {
  return std::all_of(h.begin(), h.end(), [](uint8_t b) { return b == 0; });
}

void check_checksum(const Header& h, const std::string& path, int64_t entry) {
  const uint64_t stored = octal_field(h, 148, 8, path, "checksum");
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? uint64_t{' '} : h[i];
  QN_CHECK(sum == stored, kOp, "'", path, "': header ", entry, " has a bad checksum (not a tar archive, or damaged)");
}

// The "path" record of a pax extended header ("<len> <key>=<value>\n" records), or "" when absent.
std::string pax_path(const std::vector<uint8_t>& data, const std::string& path) {
  size_t pos = 0;
  std::string found;
  while (pos < data.size()) {
    size_t space = pos;
    uint64_t length = 0;
    while (space < data.size() && data[space] >= '0' && data[space] <= '9' && length < data.size())
      length = length * 10 + (data[space++] - '0');
    QN_CHECK(space < data.size() && data[space] == ' ' && length > space - pos + 1 && pos + length <= data.size() &&
                 data[pos + length - 1] == '\n',
             kOp, "'", path, "': malformed pax header record");
    const std::string record(data.begin() + static_cast<std::ptrdiff_t>(space + 1),
                             data.begin() + static_cast<std::ptrdiff_t>(pos + length - 1));
    if (record.starts_with("path=")) found = record.substr(5);
    pos += length;
  }
  return found;
}

std::string strip_dot_slash(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  return name;
}

}  // namespace

TarArchive TarArchive::read(const std::string& path, const std::function<bool(std::string_view)>& keep) {
  GzHandle file = open_gz(path, kOp);
  TarArchive archive;
  std::string next_name;  // from a preceding GNU long-name or pax entry
  std::vector<uint8_t> scratch;
  for (int64_t entry = 0;; ++entry) {
    Header h;
    const int got = gzread(file.get(), h.data(), kBlock);
    QN_CHECK(got >= 0, kOp, "'", path, "': read error (damaged compressed data)");
    if (got == 0) break;  // end without the two zero blocks: accepted, as GNU tar does
    QN_CHECK(got == static_cast<int>(kBlock), kOp, "'", path, "': ends inside header ", entry);
    if (all_zero(h)) break;
    check_checksum(h, path, entry);
    QN_CHECK((h[124] & 0x80) == 0, kOp, "'", path, "': member ", entry, " uses a base-256 size (over 8 GiB)");
    const uint64_t size = octal_field(h, 124, 12, path, "size");
    const char type = static_cast<char>(h[156]);
    std::string name = field_string(h, 0, 100);
    if (field_string(h, 257, 5) == "ustar") {
      const std::string prefix = field_string(h, 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (!next_name.empty()) name = std::exchange(next_name, {});
    name = strip_dot_slash(name);
    const uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;

    const bool metadata = type == 'L' || type == 'x';
    const bool regular = type == '0' || type == '\0' || type == '7';
    const bool kept = regular && (!keep || keep(name));
    QN_CHECK(!metadata || size <= kMaxTarMetadataBytes, kOp, "'", path, "': member ", entry, " has a ", size,
             "-byte header record, more than ", kMaxTarMetadataBytes);
    QN_CHECK(!kept || size <= kMaxTarMemberBytes, kOp, "'", path, "': member '", name, "' has ", size,
             " bytes, more than ", kMaxTarMemberBytes);
    const std::string what = "member '" + name + "'";
    if (kept) {
      const uint64_t offset = archive.bytes_.size();
      // The buffer grows with the bytes that arrive: a header claiming gigabytes costs only what the file holds.
      for (uint64_t done = 0; done < size;) {
        const uint64_t chunk = std::min<uint64_t>(size - done, kReadChunkBytes);
        archive.bytes_.resize(offset + done + chunk);
        read_exactly(file.get(), archive.bytes_.data() + offset + done, chunk, path, kOp, what.c_str());
        done += chunk;
      }
      archive.members_.push_back({name, offset, size});
      scratch.resize(padded - size);
      read_exactly(file.get(), scratch.data(), padded - size, path, kOp, what.c_str());
      continue;
    }
    // Everything else is read through in bounded chunks (zlib cannot seek a gzip stream faster).
    scratch.resize(metadata ? padded : std::min<uint64_t>(padded, uint64_t{1} << 20));
    if (metadata) {
      read_exactly(file.get(), scratch.data(), padded, path, kOp, what.c_str());
      scratch.resize(size);
      next_name = type == 'L' ? std::string(scratch.begin(), std::find(scratch.begin(), scratch.end(), '\0'))
                              : pax_path(scratch, path);
      continue;
    }
    for (uint64_t left = padded; left > 0;) {
      const uint64_t chunk = std::min<uint64_t>(left, scratch.size());
      read_exactly(file.get(), scratch.data(), chunk, path, kOp, what.c_str());
      left -= chunk;
    }
  }
  archive.bytes_.shrink_to_fit();
  return archive;
}

}  // namespace qn::data
