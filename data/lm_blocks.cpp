#include "data/lm_blocks.h"

#include "core/error.h"

namespace qn::data {

BreakMode parse_break_mode(const std::string& name) {
  if (name == "none") return BreakMode::none;
  if (name == "complete") return BreakMode::complete;
  if (name == "eos") return BreakMode::eos;
  throw_error("sample-break-mode", detail::concat("unknown mode '", name, "' (none, complete, eos)"));
}

std::vector<TokenRange> token_blocks(const TokenFile& tokens, int64_t block_size, BreakMode mode) {
  QN_CHECK(block_size > 0 || mode == BreakMode::eos, "token_blocks", "block size must be positive, got ", block_size);
  std::vector<TokenRange> blocks;
  switch (mode) {
    case BreakMode::none:
      for (int64_t b = 0; b < tokens.size(); b += block_size)
        blocks.push_back({b, std::min(b + block_size, tokens.size())});
      break;
    case BreakMode::complete: {
      int64_t begin = 0, end = 0;
      for (int64_t line = 0; line < tokens.lines(); ++line) {
        const int64_t line_end = tokens.line_end(line);
        if (end > begin && line_end - begin > block_size) {  // the line does not fit: close the block
          blocks.push_back({begin, end});
          begin = end;
        }
        end = line_end;
      }
      if (end > begin) blocks.push_back({begin, end});
      break;
    }
    case BreakMode::eos:
      for (int64_t line = 0; line < tokens.lines(); ++line) {
        const TokenRange range{tokens.line_begin(line), tokens.line_end(line)};
        if (range.size() > 0) blocks.push_back(range);
      }
      break;
  }
  return blocks;
}

LmSample lm_sample(const TokenFile& tokens, TokenRange block, int64_t eos) {
  Tensor target = tokens.slice(block.begin, block.end);
  Tensor source = empty({block.size()}, DType::i64);
  if (block.size() > 0) {
    int64_t* s = source.data_ptr<int64_t>();
    s[0] = block.begin == 0 ? eos : tokens.token(block.begin - 1);
    const int64_t* t = target.data_ptr<int64_t>();
    for (int64_t i = 1; i < block.size(); ++i) s[i] = t[i - 1];
  }
  return {source, target};
}

}  // namespace qn::data
