// Text -> token file, as fairseq-preprocess does for a monolingual corpus: each line becomes its tokens' ids
// followed by </s>; words outside the dictionary become <unk> (and are counted). For RoBERTa-style data the
// text is first encoded with GPT-2's BPE (bpe_encode_text), each BPE id then being a word of the dictionary.
#pragma once

#include <string>

#include "data/dictionary.h"
#include "data/gpt2_bpe.h"

namespace qn::data {

struct BinarizeStats {
  int64_t lines = 0;
  int64_t tokens = 0;   // </s> included
  int64_t unknown = 0;  // words replaced by <unk> (a literal "<unk>" in the text is not counted)
};

BinarizeStats binarize_text(const std::string& text_path, const Dictionary& dictionary, const std::string& out_path);

// Text -> GPT-2 BPE ids as text, as fairseq's multiprocessing_bpe_encoder does with --keep-empty: each line is
// stripped of surrounding whitespace, encoded, and written as its ids separated by spaces (an empty line stays
// empty). The result is what binarize_text reads with RoBERTa's dict.txt. Written atomically; returns the
// number of lines.
int64_t bpe_encode_text(const std::string& text_path, const Gpt2Bpe& bpe, const std::string& out_path);

}  // namespace qn::data
