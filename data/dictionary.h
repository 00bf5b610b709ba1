// fairseq's Dictionary: symbols <s> <pad> </s> <unk> at ids 0-3, then the words, read from and written to
// `dict.txt` (one "word count" per line, most frequent first, the special symbols not listed).
//
// Building from a corpus follows fairseq-preprocess: count every whitespace-separated token, then keep the
// words with count >= threshold, at most nwords symbols in all, most frequent first (ties in code point
// order), and pad the size to a multiple of padding_factor with madeupword0000, madeupword0001, ...
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qn::data {

// fairseq's tokenize_line: runs of whitespace (Python's \s) collapse, leading and trailing whitespace goes.
std::vector<std::string_view> tokenize_line(std::string_view line);

class Dictionary {
 public:
  static constexpr int64_t kBos = 0, kPad = 1, kEos = 2, kUnk = 3;

  Dictionary();  // the four special symbols only

  // Reads fairseq's dict.txt: "word count" per line, split at the last space; a trailing
  // "#fairseq:overwrite" lets a line redefine a word. Errors name the file and line.
  static Dictionary load(const std::string& path);
  // Writes dict.txt atomically (the words after the special symbols, with their counts).
  void save(const std::string& path) const;

  // Counts every token of the files (plain or gzipped text) and finalizes; see the file comment.
  static Dictionary build(const std::vector<std::string>& paths, int64_t threshold = -1, int64_t nwords = -1,
                          int64_t padding_factor = 8);

  // Adds count to word's count, adding the word at the end when new; returns its id.
  int64_t add_symbol(std::string_view word, int64_t count = 1);
  // Reorders the words by count as fairseq's finalize does (see the file comment).
  void finalize(int64_t threshold = -1, int64_t nwords = -1, int64_t padding_factor = 8);

  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }
  int64_t index(std::string_view word) const;  // kUnk when absent
  bool contains(std::string_view word) const { return indices_.count(std::string(word)) > 0; }
  const std::string& symbol(int64_t id) const;
  int64_t count(int64_t id) const;

  // The ids of tokenize_line(line), with </s> appended when append_eos (fairseq's encode_line).
  std::vector<int64_t> encode_line(std::string_view line, bool append_eos = true) const;

 private:
  static constexpr int64_t kSpecials = 4;
  std::vector<std::string> symbols_;
  std::vector<int64_t> counts_;
  std::unordered_map<std::string, int64_t> indices_;
};

}  // namespace qn::data
