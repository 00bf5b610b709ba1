// GPT-2's byte-level BPE (RoBERTa's tokenizer), as the published encoder defines it:
//   1. pre-tokenize text with 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      (character classes as the `regex` module has them: data/unicode_tables.inc);
//   2. write each piece's UTF-8 bytes as the printable characters of bytes_to_unicode (space -> U+0120 'Ġ');
//   3. merge adjacent symbols, lowest-ranked pair first (all its occurrences at once), until no pair is ranked;
//   4. map each symbol to its id in the vocabulary.
// The vocabulary and merges come from encoder.json + vocab.bpe (GPT-2 ids), vocab.json + merges.txt (Hugging
// Face, e.g. roberta-base's own ids) or a Hugging Face tokenizer.json. Files are untrusted; errors name them.
//
// train_bpe learns merges from a corpus for users who pretrain without a released vocabulary.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qn::data {

class Gpt2Bpe {
 public:
  // vocab.json / encoder.json (token -> id) and merges.txt / vocab.bpe ("A B" per line after "#version").
  static Gpt2Bpe load(const std::string& vocab_json, const std::string& merges_txt);
  // A Hugging Face tokenizer.json whose model is BPE.
  static Gpt2Bpe load_tokenizer_json(const std::string& path);
  // From memory: the vocabulary and the merges in rank order.
  Gpt2Bpe(std::unordered_map<std::string, int64_t> vocabulary, std::vector<std::pair<std::string, std::string>> merges);
  Gpt2Bpe(const Gpt2Bpe& other);

  // text must be UTF-8 (an error names the byte offset otherwise).
  std::vector<int64_t> encode(std::string_view text) const;
  // The bytes the ids stand for (not necessarily valid UTF-8 for a partial sequence).
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t vocabulary_size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& token(int64_t id) const;

  // Step 1 alone: the pieces, as views into text.
  static std::vector<std::string_view> pre_tokenize(std::string_view text);

 private:
  std::vector<int64_t> encode_piece(std::string_view piece) const;

  std::unordered_map<std::string, int64_t> ids_;
  std::vector<std::string> tokens_;             // id -> token ("" for unused ids)
  std::unordered_map<std::string, int> ranks_;  // "A B" -> rank
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

// Learns `merges` merges from the pieces of the given files (plain or gzipped text, one document per line; the
// newline is part of the text): every piece counted, then repeatedly the most frequent adjacent pair merged
// (ties: the pair whose symbols come first in byte order). The vocabulary is the 256 byte symbols, then one
// token per merge, then the special tokens given. Writes vocab.json and merges.txt atomically.
struct BpeTrainOptions {
  int64_t merges = 1000;
  int64_t min_frequency = 2;  // stop when the best pair is rarer
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
};
void train_bpe(const std::vector<std::string>& corpus_paths, const BpeTrainOptions& options,
               const std::string& vocab_json_path, const std::string& merges_txt_path);

}  // namespace qn::data
