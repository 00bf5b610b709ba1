#include "data/binarize.h"

#include "core/atomic_file.h"
#include "data/gz_file.h"
#include "data/token_file.h"

namespace qn::data {

BinarizeStats binarize_text(const std::string& text_path, const Dictionary& dictionary, const std::string& out_path) {
  BinarizeStats stats;
  std::vector<uint32_t> tokens;
  std::vector<int64_t> line_ends;
  for_each_line(text_path, "binarize", [&](std::string_view line, int64_t) {
    for (std::string_view word : tokenize_line(line)) {
      const int64_t id = dictionary.index(word);
      stats.unknown += id == Dictionary::kUnk && word != "<unk>";
      tokens.push_back(static_cast<uint32_t>(id));
    }
    tokens.push_back(static_cast<uint32_t>(Dictionary::kEos));
    line_ends.push_back(static_cast<int64_t>(tokens.size()));
  });
  stats.lines = static_cast<int64_t>(line_ends.size());
  stats.tokens = static_cast<int64_t>(tokens.size());
  write_token_file(out_path, dictionary.size(), tokens, line_ends);
  return stats;
}

int64_t bpe_encode_text(const std::string& text_path, const Gpt2Bpe& bpe, const std::string& out_path) {
  int64_t lines = 0;
  write_file_atomically(out_path, [&](std::FILE* out) {
    std::string encoded;
    for_each_line(text_path, "bpe_encode", [&](std::string_view line, int64_t) {
      encoded.clear();
      // Python's strip(): from the first word's start to the last word's end.
      if (const std::vector<std::string_view> words = tokenize_line(line); !words.empty()) {
        const size_t begin = static_cast<size_t>(words.front().data() - line.data());
        const size_t end = static_cast<size_t>(words.back().data() + words.back().size() - line.data());
        for (const int64_t id : bpe.encode(line.substr(begin, end - begin))) {
          if (!encoded.empty()) encoded += ' ';
          encoded += std::to_string(id);
        }
      }
      encoded += '\n';
      write_bytes(out, encoded.data(), encoded.size(), out_path);
      ++lines;
    });
  });
  return lines;
}

}  // namespace qn::data
