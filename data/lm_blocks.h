// Language-model samples from a token stream, as fairseq's TokenBlockDataset (with include_targets) cuts them:
//   none      blocks of block_size consecutive tokens, across line ends; the last may be shorter
//   complete  whole lines packed into blocks of at most block_size tokens (a longer line is a block alone)
//   eos       one line per block
// A block [b, e) predicts its own tokens: target = tokens[b, e), source = the same shifted right by one,
// tokens[b - 1, e - 1), with </s> before the stream's first token.
#pragma once

#include <string>
#include <vector>

#include "data/token_file.h"

namespace qn::data {

enum class BreakMode { none, complete, eos };
// fairseq's --sample-break-mode names: "none", "complete", "eos".
BreakMode parse_break_mode(const std::string& name);

struct TokenRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

std::vector<TokenRange> token_blocks(const TokenFile& tokens, int64_t block_size, BreakMode mode);

struct LmSample {
  Tensor source;  // i64 (n)
  Tensor target;  // i64 (n)
};
LmSample lm_sample(const TokenFile& tokens, TokenRange block, int64_t eos);

}  // namespace qn::data
