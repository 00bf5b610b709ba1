// Binarized token streams (`qn preprocess` writes them once, loaders memory-map them):
//
//   offset 0   "QNTOKv1\0"            magic
//          8   u32 width               bytes per token: 2 when the vocabulary fits in u16, else 4
//         12   u32 reserved (0)
//         16   u64 vocabulary size     every token is below it
//         24   u64 token count  T
//         32   u64 line count   L      (one line = one sentence of the source text, </s> included)
//         40   T tokens of `width` bytes, little-endian, zero-padded to a multiple of 8 bytes
//          .   L u64 line ends: line j is tokens [end(j-1), end(j)), end(-1) = 0
//
// The file is untrusted: opening checks the size against the header, that line ends rise to T, and that
// every token is below the vocabulary size, and names the file in each error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qn::data {

inline constexpr char kTokenFileMagic[8] = {'Q', 'N', 'T', 'O', 'K', 'v', '1', '\0'};

// Writes atomically; line_ends as in the layout above.
void write_token_file(const std::string& path, int64_t vocabulary_size, const std::vector<uint32_t>& tokens,
                      const std::vector<int64_t>& line_ends);

class TokenFile {
 public:
  explicit TokenFile(const std::string& path);
  ~TokenFile();
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  int64_t size() const { return tokens_; }  // tokens
  int64_t lines() const { return lines_; }
  int64_t vocabulary_size() const { return vocabulary_; }
  int64_t token(int64_t i) const;
  int64_t line_begin(int64_t line) const { return line == 0 ? 0 : line_end(line - 1); }
  int64_t line_end(int64_t line) const;
  // Tokens [begin, end) as i64.
  Tensor slice(int64_t begin, int64_t end) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_bytes_ = 0;
  int width_ = 0;
  int64_t vocabulary_ = 0, tokens_ = 0, lines_ = 0;
  const uint8_t* token_bytes_ = nullptr;
  const uint8_t* line_end_bytes_ = nullptr;
};

}  // namespace qn::data
