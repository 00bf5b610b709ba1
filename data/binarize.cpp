#include "data/binarize.h"

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

}  // namespace qn::data
