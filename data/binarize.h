// Text -> token file, as fairseq-preprocess does for a monolingual corpus: each line becomes its tokens' ids
// followed by </s>; words outside the dictionary become <unk> (and are counted).
#pragma once

#include <string>

#include "data/dictionary.h"

namespace qn::data {

struct BinarizeStats {
  int64_t lines = 0;
  int64_t tokens = 0;   // </s> included
  int64_t unknown = 0;  // words replaced by <unk> (a literal "<unk>" in the text is not counted)
};

BinarizeStats binarize_text(const std::string& text_path, const Dictionary& dictionary, const std::string& out_path);

}  // namespace qn::data
