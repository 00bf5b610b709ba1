#include "data/gz_file.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace qn::data {

GzHandle open_gz(const std::string& path, const char* op) {
  GzHandle file(gzopen(path.c_str(), "rb"));
  QN_CHECK(file != nullptr, op, "cannot open '", path, "'");
  return file;
}

void read_exactly(gzFile file, void* out, uint64_t n, const std::string& path, const char* op, const char* what) {
  auto* bytes = static_cast<uint8_t*>(out);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(n, 1u << 30));
    const int got = gzread(file, bytes, chunk);
    if (got <= 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw_error(op, detail::concat("'", path, "' ends early while reading the ", what,
                                     code < 0 ? std::string(" (") + message + ")" : std::string(" (truncated file)")));
    }
    bytes += got;
    n -= static_cast<uint64_t>(got);
  }
}

std::vector<uint8_t> read_exactly(gzFile file, uint64_t n, const std::string& path, const char* op, const char* what) {
  std::vector<uint8_t> bytes;
  while (bytes.size() < n) {
    const uint64_t have = bytes.size();
    const uint64_t next = std::min<uint64_t>(n - have, kReadChunkBytes);
    bytes.resize(static_cast<size_t>(have + next));
    read_exactly(file, bytes.data() + have, next, path, op, what);
  }
  return bytes;
}

void for_each_line(const std::string& path, const char* op,
                   const std::function<void(std::string_view line, int64_t line_number)>& fn) {
  GzHandle file = open_gz(path, op);
  std::vector<char> buffer(size_t{1} << 20);
  std::string pending;  // a line split across reads
  int64_t line_number = 0;
  for (;;) {
    const int got = gzread(file.get(), buffer.data(), static_cast<unsigned>(buffer.size()));
    if (got < 0) {
      int code = 0;
      throw_error(op, detail::concat("cannot read '", path, "' after line ", line_number, " (",
                                     gzerror(file.get(), &code), ")"));
    }
    if (got == 0) break;
    std::string_view chunk(buffer.data(), static_cast<size_t>(got));
    for (size_t newline; (newline = chunk.find('\n')) != std::string_view::npos; chunk.remove_prefix(newline + 1)) {
      if (pending.empty()) {
        fn(chunk.substr(0, newline), ++line_number);
      } else {
        pending.append(chunk.substr(0, newline));
        fn(pending, ++line_number);
        pending.clear();
      }
    }
    pending.append(chunk);
    QN_CHECK(pending.size() <= kMaxLineBytes, op, "'", path, "' line ", line_number + 1, " is longer than ",
             kMaxLineBytes, " bytes");
  }
  if (!pending.empty()) fn(pending, ++line_number);
}

}  // namespace qn::data
