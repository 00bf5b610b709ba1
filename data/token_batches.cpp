#include "data/token_batches.h"

#include <algorithm>

#include "core/error.h"

namespace qn::data {

Tensor pad_sequences(const std::vector<std::span<const int64_t>>& sequences, int64_t pad) {
  size_t longest = 0;
  for (const auto& s : sequences) longest = std::max(longest, s.size());
  const auto n = static_cast<int64_t>(sequences.size()), t = static_cast<int64_t>(longest);
  Tensor out = full({n, t}, static_cast<double>(pad), DType::i64);
  int64_t* data = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    std::copy(sequences[static_cast<size_t>(i)].begin(), sequences[static_cast<size_t>(i)].end(), data + i * t);
  return out;
}

namespace {

void check_indices(const IndexBatch& indices, int64_t size, const char* op) {
  for (const int64_t i : indices) QN_CHECK(i >= 0 && i < size, op, "sample ", i, " is outside 0..", size - 1);
}

std::span<const int64_t> as_span(const Tensor& t) { return {t.data_ptr<int64_t>(), static_cast<size_t>(t.numel())}; }

}  // namespace

LmBatchMaker::LmBatchMaker(const TokenFile& tokens, std::vector<TokenRange> blocks, int64_t eos, int64_t pad)
    : tokens_(&tokens), blocks_(std::move(blocks)), eos_(eos), pad_(pad) {}

LmBatch LmBatchMaker::operator()(const IndexBatch& indices, int64_t) const {
  check_indices(indices, size(), "LmBatchMaker");
  std::vector<LmSample> samples;
  std::vector<std::span<const int64_t>> sources, targets;
  LmBatch batch;
  for (const int64_t i : indices) samples.push_back(lm_sample(*tokens_, blocks_[static_cast<size_t>(i)], eos_));
  for (const LmSample& sample : samples) {
    sources.push_back(as_span(sample.source));
    targets.push_back(as_span(sample.target));
    batch.target_tokens += sample.target.numel();
  }
  batch.source = pad_sequences(sources, pad_);
  batch.target = pad_sequences(targets, pad_);
  return batch;
}

std::vector<int64_t> LmBatchMaker::sizes() const {
  std::vector<int64_t> sizes;
  sizes.reserve(blocks_.size());
  for (const TokenRange& block : blocks_) sizes.push_back(block.size());
  return sizes;
}

SentencePairBatchMaker::SentencePairBatchMaker(std::vector<std::vector<int64_t>> inputs, std::vector<int64_t> labels,
                                               int64_t pad)
    : inputs_(std::move(inputs)), labels_(std::move(labels)), pad_(pad) {
  QN_CHECK(inputs_.size() == labels_.size(), "SentencePairBatchMaker", "got ", inputs_.size(), " inputs and ",
           labels_.size(), " labels");
}

SentencePairBatch SentencePairBatchMaker::operator()(const IndexBatch& indices, int64_t) const {
  check_indices(indices, size(), "SentencePairBatchMaker");
  std::vector<std::span<const int64_t>> rows;
  std::vector<int64_t> labels;
  for (const int64_t i : indices) {
    rows.push_back(inputs_[static_cast<size_t>(i)]);
    labels.push_back(labels_[static_cast<size_t>(i)]);
  }
  return {pad_sequences(rows, pad_), from_vector(labels, {static_cast<int64_t>(labels.size())})};
}

std::vector<int64_t> SentencePairBatchMaker::sizes() const {
  std::vector<int64_t> sizes;
  sizes.reserve(inputs_.size());
  for (const auto& input : inputs_) sizes.push_back(static_cast<int64_t>(input.size()));
  return sizes;
}

}  // namespace qn::data
