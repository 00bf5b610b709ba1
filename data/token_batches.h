// Batches of token sequences, right-padded to the longest in the batch (fairseq's collate with left_pad off):
//   LmBatchMaker            language-model blocks of a token file: source and target [N, T], both padded with
//                           pad (the loss ignores pad targets), and the count of real target tokens
//   SentencePairBatchMaker  encoded classification inputs (RobertaInputEncoder) and labels: tokens [N, T], labels [N]
// Their sizes() feed token_batches for fairseq's max_tokens / length-bucketed batching.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "data/batching.h"
#include "data/lm_blocks.h"

namespace qn::data {

// [N, longest] i64, row i = sequences[i] followed by pad.
Tensor pad_sequences(const std::vector<std::span<const int64_t>>& sequences, int64_t pad);

struct LmBatch {
  Tensor source;  // i64 [N, T]
  Tensor target;  // i64 [N, T]
  int64_t target_tokens = 0;
};

class LmBatchMaker {
 public:
  // tokens must outlive the maker.
  LmBatchMaker(const TokenFile& tokens, std::vector<TokenRange> blocks, int64_t eos, int64_t pad);
  LmBatch operator()(const IndexBatch& indices, int64_t epoch) const;
  std::vector<int64_t> sizes() const;
  int64_t size() const { return static_cast<int64_t>(blocks_.size()); }

 private:
  const TokenFile* tokens_;
  std::vector<TokenRange> blocks_;
  int64_t eos_, pad_;
};

struct SentencePairBatch {
  Tensor tokens;  // i64 [N, T]
  Tensor labels;  // i64 [N]
};

class SentencePairBatchMaker {
 public:
  // labels[i] is inputs[i]'s class (-1 for unlabelled data).
  SentencePairBatchMaker(std::vector<std::vector<int64_t>> inputs, std::vector<int64_t> labels, int64_t pad);
  SentencePairBatch operator()(const IndexBatch& indices, int64_t epoch) const;
  std::vector<int64_t> sizes() const;
  int64_t size() const { return static_cast<int64_t>(inputs_.size()); }

 private:
  std::vector<std::vector<int64_t>> inputs_;
  std::vector<int64_t> labels_;
  int64_t pad_;
};

}  // namespace qn::data
