// Reading files that may be gzipped (zlib reads plain files through the same calls): an owning handle, exact
// reads that name the file when it ends early, and a line reader. Files are untrusted: lines are bounded.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qn::data {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Opens path for reading; throws naming op and path when it cannot.
GzHandle open_gz(const std::string& path, const char* op);

// Reads exactly n bytes, or throws naming op, path and what was being read.
void read_exactly(gzFile file, void* out, uint64_t n, const std::string& path, const char* op, const char* what);

// Reads exactly n bytes into a new buffer, or throws as read_exactly. The buffer grows with the bytes that really
// arrive (kReadChunkBytes at a time), so a header that claims gigabytes costs no more memory than the file holds.
std::vector<uint8_t> read_exactly(gzFile file, uint64_t n, const std::string& path, const char* op, const char* what);
inline constexpr uint64_t kReadChunkBytes = uint64_t{16} << 20;

// Longest line accepted (far above any corpus line: WikiText-103's longest is ~100 KB).
inline constexpr size_t kMaxLineBytes = size_t{64} << 20;

// Calls fn(line, line_number) for each '\n'-terminated line (the last may lack its '\n'), line numbers from 1,
// without the '\n' (a '\r' before it is kept: callers that split on whitespace drop it).
void for_each_line(const std::string& path, const char* op,
                   const std::function<void(std::string_view line, int64_t line_number)>& fn);

}  // namespace qn::data
