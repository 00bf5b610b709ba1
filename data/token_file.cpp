#include "data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"

namespace qn::data {
namespace {

constexpr const char* kOp = "TokenFile";
constexpr size_t kHeaderBytes = 40;

uint64_t padded(uint64_t bytes) { return (bytes + 7) / 8 * 8; }

template <class T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the engine targets little-endian hosts (x86-64, aarch64)
  return v;
}

}  // namespace

void write_token_file(const std::string& path, int64_t vocabulary_size, const std::vector<uint32_t>& tokens,
                      const std::vector<int64_t>& line_ends) {
  QN_CHECK(vocabulary_size > 0 && static_cast<uint64_t>(vocabulary_size) <= (uint64_t{1} << 32), kOp,
           "vocabulary size ", vocabulary_size, " must lie in [1, 2^32]");
  int64_t previous = 0;
  for (int64_t end : line_ends) {
    QN_CHECK(end >= previous && end <= static_cast<int64_t>(tokens.size()), kOp, "line ends must rise to the ",
             tokens.size(), " tokens");
    previous = end;
  }
  QN_CHECK(line_ends.empty() ? tokens.empty() : line_ends.back() == static_cast<int64_t>(tokens.size()), kOp,
           "the last line must end at the last token");
  for (uint32_t t : tokens) {
    QN_CHECK(t < static_cast<uint64_t>(vocabulary_size), kOp, "token ", t, " is outside the vocabulary of ",
             vocabulary_size);
  }
  const uint32_t width = vocabulary_size <= 65536 ? 2 : 4;
  write_file_atomically(path, [&](std::FILE* file) {
    uint8_t header[kHeaderBytes] = {};
    std::memcpy(header, kTokenFileMagic, 8);
    std::memcpy(header + 8, &width, 4);
    const uint64_t fields[] = {static_cast<uint64_t>(vocabulary_size), tokens.size(), line_ends.size()};
    std::memcpy(header + 16, fields, sizeof fields);
    write_bytes(file, header, kHeaderBytes, path);
    std::vector<uint8_t> body(padded(tokens.size() * width), 0);
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (width == 2) {
        const uint16_t t = static_cast<uint16_t>(tokens[i]);
        std::memcpy(&body[i * 2], &t, 2);
      } else {
        std::memcpy(&body[i * 4], &tokens[i], 4);
      }
    }
    write_bytes(file, body.data(), body.size(), path);
    write_bytes(file, line_ends.data(), line_ends.size() * sizeof(int64_t), path);
  });
}

TokenFile::TokenFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  QN_CHECK(fd >= 0, kOp, "cannot open '", path, "': ", std::strerror(errno));
  struct stat info {};
  const bool stat_ok = ::fstat(fd, &info) == 0;
  map_bytes_ = stat_ok ? static_cast<size_t>(info.st_size) : 0;
  if (stat_ok && map_bytes_ >= kHeaderBytes) {
    void* map = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_SHARED, fd, 0);
    map_ = map == MAP_FAILED ? nullptr : static_cast<const uint8_t*>(map);
  }
  ::close(fd);
  QN_CHECK(stat_ok && map_bytes_ >= kHeaderBytes, kOp, "'", path, "' is too short (", map_bytes_,
           " bytes) to be a token file");
  QN_CHECK(map_ != nullptr, kOp, "cannot map '", path, "': ", std::strerror(errno));
  // From here on, the destructor must run on error: check through a helper that unmaps first.
  auto fail = [&](const std::string& message) {
    ::munmap(const_cast<uint8_t*>(map_), map_bytes_);
    map_ = nullptr;
    throw_error(kOp, "'" + path + "' " + message);
  };
  if (std::memcmp(map_, kTokenFileMagic, 8) != 0) fail("is not a token file (bad magic)");
  width_ = static_cast<int>(load_le<uint32_t>(map_ + 8));
  const uint64_t vocabulary = load_le<uint64_t>(map_ + 16), tokens = load_le<uint64_t>(map_ + 24),
                 lines = load_le<uint64_t>(map_ + 32);
  if (width_ != 2 && width_ != 4) fail(detail::concat("has token width ", width_, "; expected 2 or 4"));
  constexpr uint64_t kLimit = uint64_t{1} << 40;
  if (tokens > kLimit || lines > kLimit || vocabulary == 0 || vocabulary > (uint64_t{1} << 32)) {
    fail(detail::concat("declares absurd sizes (", tokens, " tokens, ", lines, " lines, vocabulary ", vocabulary, ")"));
  }
  const uint64_t expected = kHeaderBytes + padded(tokens * static_cast<uint64_t>(width_)) + lines * 8;
  if (expected != map_bytes_) {
    fail(detail::concat("is ", map_bytes_, " bytes but its header (", tokens, " tokens of ", width_, " bytes, ", lines,
                        " lines) needs ", expected));
  }
  vocabulary_ = static_cast<int64_t>(vocabulary);
  tokens_ = static_cast<int64_t>(tokens);
  lines_ = static_cast<int64_t>(lines);
  token_bytes_ = map_ + kHeaderBytes;
  line_end_bytes_ = token_bytes_ + padded(tokens * static_cast<uint64_t>(width_));
  int64_t previous = 0;
  for (int64_t j = 0; j < lines_; ++j) {
    const int64_t end = load_le<int64_t>(line_end_bytes_ + 8 * j);
    if (end < previous || end > tokens_) fail(detail::concat("line ", j, " ends at ", end, ", out of order"));
    previous = end;
  }
  if (previous != tokens_) fail(detail::concat("lines end at ", previous, " of ", tokens_, " tokens"));
  for (int64_t i = 0; i < tokens_; ++i) {
    if (token(i) >= vocabulary_) {
      fail(detail::concat("token ", i, " is ", token(i), ", outside the vocabulary of ", vocabulary_));
    }
  }
}

TokenFile::~TokenFile() {
  if (map_ != nullptr) ::munmap(const_cast<uint8_t*>(map_), map_bytes_);
}

int64_t TokenFile::token(int64_t i) const {
  const uint8_t* p = token_bytes_ + i * width_;
  return width_ == 2 ? load_le<uint16_t>(p) : load_le<uint32_t>(p);
}

int64_t TokenFile::line_end(int64_t line) const {
  QN_CHECK(line >= 0 && line < lines_, kOp, "line ", line, " is outside the ", lines_, " lines of '", path_, "'");
  return load_le<int64_t>(line_end_bytes_ + 8 * line);
}

Tensor TokenFile::slice(int64_t begin, int64_t end) const {
  QN_CHECK(0 <= begin && begin <= end && end <= tokens_, kOp, "tokens [", begin, ", ", end, ") are outside the ",
           tokens_, " of '", path_, "'");
  Tensor out = empty({end - begin}, DType::i64);
  int64_t* data = out.data_ptr<int64_t>();
  for (int64_t i = begin; i < end; ++i) data[i - begin] = token(i);
  return out;
}

}  // namespace qn::data
