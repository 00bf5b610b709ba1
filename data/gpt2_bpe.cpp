#include "data/gpt2_bpe.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/gz_file.h"
#include "data/utf8.h"

namespace qn::data {
namespace {

constexpr const char* kOp = "Gpt2Bpe";

struct CodePointRange {
  char32_t lo, hi;
};
#include "data/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodePointRange (&ranges)[N], char32_t cp) {
  const CodePointRange* it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                              [](char32_t c, const CodePointRange& r) { return c < r.lo; });
  return it != std::begin(ranges) && cp <= (it - 1)->hi;
}

enum class CharClass { letter, number, space, other };

CharClass classify(char32_t cp) {
  if (in_ranges(kSpaceRanges, cp)) return CharClass::space;
  if (in_ranges(kLetterRanges, cp)) return CharClass::letter;
  if (in_ranges(kNumberRanges, cp)) return CharClass::number;
  return CharClass::other;
}

// bytes_to_unicode: the printable bytes ! .. ~, ¡ .. ¬, ® .. ÿ stand for themselves; the other 68 bytes, in
// increasing order, become U+0100, U+0101, ...; `order` lists the bytes in GPT-2's id order.
struct ByteAlphabet {
  std::array<std::string, 256> symbol;  // byte -> UTF-8 of its character
  std::unordered_map<char32_t, uint8_t> byte_of;
  std::array<uint8_t, 256> order{};
  ByteAlphabet() {
    auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
    int next = 0, extra = 0;
    for (int b = 0; b < 256; ++b) {
      if (printable(b)) order[static_cast<size_t>(next++)] = static_cast<uint8_t>(b);
    }
    for (int b = 0; b < 256; ++b) {
      if (!printable(b)) order[static_cast<size_t>(next++)] = static_cast<uint8_t>(b);
    }
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      utf8::append(symbol[static_cast<size_t>(b)], cp);
      byte_of[cp] = static_cast<uint8_t>(b);
    }
  }
};

const ByteAlphabet& bytes_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

// word with every non-overlapping (first, second), left to right, replaced by first + second.
std::vector<std::string> merge_pair(std::vector<std::string> word, const std::string& first,
                                    const std::string& second) {
  std::vector<std::string> merged;
  merged.reserve(word.size());
  for (size_t i = 0; i < word.size();) {
    if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
      merged.push_back(first + second);
      i += 2;
    } else {
      merged.push_back(std::move(word[i++]));
    }
  }
  return merged;
}

// The code points of a piece's bytes as byte symbols.
std::vector<std::string> byte_symbols(std::string_view piece) {
  std::vector<std::string> symbols;
  symbols.reserve(piece.size());
  for (unsigned char b : piece) symbols.push_back(bytes_alphabet().symbol[b]);
  return symbols;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QN_CHECK(in.good(), kOp, "cannot open '", path, "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json parse_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw_error(kOp, detail::concat("'", path, "' is not valid JSON: ", e.what()));
  }
}

std::unordered_map<std::string, int64_t> vocabulary_from_json(const nlohmann::json& object, const std::string& path) {
  QN_CHECK(object.is_object(), kOp, "'", path, "': the vocabulary must be a JSON object of token -> id");
  std::unordered_map<std::string, int64_t> vocabulary;
  for (const auto& [token, id] : object.items()) {
    QN_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t{1} << 31), kOp, "'", path,
             "': token \"", token, "\" has id ", id.dump(), "; expected a non-negative integer");
    vocabulary.emplace(token, id.get<int64_t>());
  }
  return vocabulary;
}

// See Gpt2Bpe's constructor.
constexpr int64_t kSmallestIdBound = int64_t{1} << 20;

std::pair<std::string, std::string> split_merge(std::string_view line, const std::string& path, int64_t number) {
  const size_t space = line.find(' ');
  QN_CHECK(space != std::string_view::npos && space > 0 && space + 1 < line.size() &&
               line.find(' ', space + 1) == std::string_view::npos,
           kOp, "'", path, "' merge ", number, ": expected \"A B\", got \"", line, "\"");
  return {std::string(line.substr(0, space)), std::string(line.substr(space + 1))};
}

}  // namespace

std::vector<std::string_view> Gpt2Bpe::pre_tokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  auto at = [&](size_t pos) {
    const std::optional<utf8::Decoded> d = utf8::decode(text, pos);
    QN_CHECK(d.has_value(), kOp, "the text is not valid UTF-8 (byte ", pos, ")");
    return *d;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    if (text[pos] == '\'') {  // 's 't 're 've 'm 'll 'd
      size_t length = 0;
      for (std::string_view suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
        if (text.substr(pos + 1, suffix.size()) == suffix) {
          length = 1 + suffix.size();
          break;
        }
      }
      if (length > 0) {
        pieces.push_back(text.substr(pos, length));
        pos += length;
        continue;
      }
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
    size_t run = pos;
    if (text[pos] == ' ' && pos + 1 < text.size() && classify(at(pos + 1).code_point) != CharClass::space)
      run = pos + 1;
    const utf8::Decoded first = at(run);
    const CharClass cls = classify(first.code_point);
    if (cls != CharClass::space) {
      pos = run + static_cast<size_t>(first.length);
      while (pos < text.size()) {
        const utf8::Decoded d = at(pos);
        if (classify(d.code_point) != cls) break;
        pos += static_cast<size_t>(d.length);
      }
      pieces.push_back(text.substr(start, pos - start));
      continue;
    }
    // `\s+(?!\S)` then `\s+`: a whitespace run, less its last character when a non-space follows it.
    size_t last = pos;
    int count = 0;
    while (pos < text.size()) {
      const utf8::Decoded d = at(pos);
      if (classify(d.code_point) != CharClass::space) break;
      last = pos;
      pos += static_cast<size_t>(d.length);
      ++count;
    }
    if (pos < text.size() && count >= 2) pos = last;
    pieces.push_back(text.substr(start, pos - start));
  }
  return pieces;
}

Gpt2Bpe::Gpt2Bpe(std::unordered_map<std::string, int64_t> vocabulary,
                 std::vector<std::pair<std::string, std::string>> merges)
    : ids_(std::move(vocabulary)) {
  int64_t size = 0;
  for (const auto& [token, id] : ids_) size = std::max(size, id + 1);
  // The id -> token table is as long as the largest id: ids may leave gaps, but a file of a few tokens may not make
  // it gigabytes long (found by tests/fuzz/bpe_fuzzer.cpp).
  const int64_t largest_allowed = std::max<int64_t>(2 * static_cast<int64_t>(ids_.size()), kSmallestIdBound);
  QN_CHECK(size <= largest_allowed, kOp, "the vocabulary's largest id is ", size - 1, " for ", ids_.size(),
           " tokens; ids must stay below max(2 x tokens, ", kSmallestIdBound, ")");
  tokens_.resize(static_cast<size_t>(size));
  for (const auto& [token, id] : ids_) {
    QN_CHECK(tokens_[static_cast<size_t>(id)].empty(), kOp, "tokens \"", tokens_[static_cast<size_t>(id)], "\" and \"",
             token, "\" share id ", id);
    tokens_[static_cast<size_t>(id)] = token;
  }
  for (const std::string& byte : bytes_alphabet().symbol) {
    QN_CHECK(ids_.count(byte), kOp, "the vocabulary lacks the byte symbol \"", byte, "\"");
  }
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    ranks_.emplace(merges[rank].first + " " + merges[rank].second, static_cast<int>(rank));  // first rank wins
  }
}

Gpt2Bpe::Gpt2Bpe(const Gpt2Bpe& other) : ids_(other.ids_), tokens_(other.tokens_), ranks_(other.ranks_) {}

Gpt2Bpe Gpt2Bpe::load(const std::string& vocab_json, const std::string& merges_txt) {
  auto vocabulary = vocabulary_from_json(parse_json(vocab_json), vocab_json);
  std::vector<std::pair<std::string, std::string>> merges;
  for_each_line(merges_txt, kOp, [&](std::string_view line, int64_t number) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (number == 1 && line.starts_with("#version"))) return;
    merges.push_back(split_merge(line, merges_txt, number));
  });
  return Gpt2Bpe(std::move(vocabulary), std::move(merges));
}

Gpt2Bpe Gpt2Bpe::load_tokenizer_json(const std::string& path) {
  const nlohmann::json json = parse_json(path);
  // Comparing a json value with a string is false for any other type; value("type", ...) would throw instead.
  QN_CHECK(json.is_object() && json.contains("model") && json["model"].is_object() &&
               (!json["model"].contains("type") || json["model"]["type"] == "BPE") && json["model"].contains("vocab") &&
               json["model"].contains("merges") && json["model"]["merges"].is_array(),
           kOp, "'", path, "' is not a tokenizer.json with a BPE model (model.vocab, model.merges)");
  const nlohmann::json& model = json["model"];
  auto vocabulary = vocabulary_from_json(model["vocab"], path);
  std::vector<std::pair<std::string, std::string>> merges;
  int64_t number = 0;
  for (const nlohmann::json& merge : model["merges"]) {
    ++number;
    if (merge.is_string()) {
      merges.push_back(split_merge(merge.get<std::string>(), path, number));
    } else {
      QN_CHECK(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(), kOp, "'", path,
               "' merge ", number, " is neither \"A B\" nor [\"A\", \"B\"]");
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    }
  }
  return Gpt2Bpe(std::move(vocabulary), std::move(merges));
}

std::vector<int64_t> Gpt2Bpe::encode_piece(std::string_view piece) const {
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(std::string(piece)); it != cache_.end()) return it->second;
  }
  std::vector<std::string> word = byte_symbols(piece);
  while (word.size() > 1) {
    int best = std::numeric_limits<int>::max();
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && it->second < best) best = it->second, best_at = i;
    }
    if (best == std::numeric_limits<int>::max()) break;
    const std::string first = word[best_at], second = word[best_at + 1];
    word = merge_pair(std::move(word), first, second);
  }
  std::vector<int64_t> ids;
  ids.reserve(word.size());
  for (const std::string& symbol : word) {
    auto it = ids_.find(symbol);
    QN_CHECK(it != ids_.end(), kOp, "the merged symbol \"", symbol, "\" has no id in the vocabulary");
    ids.push_back(it->second);
  }
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() < (size_t{1} << 20)) cache_.emplace(std::string(piece), ids);
  return ids;
}

std::vector<int64_t> Gpt2Bpe::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  for (std::string_view piece : pre_tokenize(text)) {
    const std::vector<int64_t> part = encode_piece(piece);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

const std::string& Gpt2Bpe::token(int64_t id) const {
  QN_CHECK(id >= 0 && id < vocabulary_size() && !tokens_[static_cast<size_t>(id)].empty(), kOp, "id ", id,
           " is not in the vocabulary of ", vocabulary_size());
  return tokens_[static_cast<size_t>(id)];
}

std::string Gpt2Bpe::decode(const std::vector<int64_t>& ids) const {
  std::string bytes;
  for (int64_t id : ids) {
    const std::string& t = token(id);
    for (size_t pos = 0; pos < t.size();) {
      const std::optional<utf8::Decoded> d = utf8::decode(t, pos);
      auto it = d ? bytes_alphabet().byte_of.find(d->code_point) : bytes_alphabet().byte_of.end();
      if (it == bytes_alphabet().byte_of.end()) {  // a special token such as <s>: its own text
        bytes += t;
        break;
      }
      bytes += static_cast<char>(it->second);
      pos += static_cast<size_t>(d->length);
    }
  }
  return bytes;
}

void train_bpe(const std::vector<std::string>& corpus_paths, const BpeTrainOptions& options,
               const std::string& vocab_json_path, const std::string& merges_txt_path) {
  QN_CHECK(options.merges >= 0, "train_bpe", "the number of merges must be non-negative, got ", options.merges);
  std::unordered_map<std::string, int64_t> piece_counts;
  for (const std::string& path : corpus_paths) {
    for_each_line(path, "train_bpe", [&](std::string_view line, int64_t number) {
      utf8::validate(line, "train_bpe", detail::concat("'", path, "' line ", number));
      for (std::string_view piece : Gpt2Bpe::pre_tokenize(line)) ++piece_counts[std::string(piece)];
    });
  }
  // Words as symbol sequences, in a fixed order so that the result never depends on hashing.
  std::map<std::string, int64_t> ordered(piece_counts.begin(), piece_counts.end());
  std::vector<std::vector<std::string>> words;
  std::vector<int64_t> counts;
  for (const auto& [piece, count] : ordered) {
    words.push_back(byte_symbols(piece));
    counts.push_back(count);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  while (static_cast<int64_t>(merges.size()) < options.merges) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;  // byte order: ties go to the first
    for (size_t w = 0; w < words.size(); ++w) {
      for (size_t i = 0; i + 1 < words[w].size(); ++i) pairs[{words[w][i], words[w][i + 1]}] += counts[w];
    }
    const std::pair<std::string, std::string>* best = nullptr;
    int64_t best_count = 0;
    for (const auto& [pair, count] : pairs) {
      if (count > best_count) best = &pair, best_count = count;
    }
    if (best == nullptr || best_count < options.min_frequency) break;
    const auto [first, second] = *best;
    merges.emplace_back(first, second);
    for (std::vector<std::string>& word : words) word = merge_pair(std::move(word), first, second);
  }
  nlohmann::ordered_json vocabulary = nlohmann::ordered_json::object();
  int64_t next = 0;
  for (uint8_t byte : bytes_alphabet().order) vocabulary[bytes_alphabet().symbol[byte]] = next++;
  for (const auto& [first, second] : merges) {
    if (!vocabulary.contains(first + second)) vocabulary[first + second] = next++;
  }
  for (const std::string& special : options.special_tokens) {
    if (!vocabulary.contains(special)) vocabulary[special] = next++;
  }
  const std::string json = vocabulary.dump();
  write_file_atomically(vocab_json_path,
                        [&](std::FILE* f) { write_bytes(f, json.data(), json.size(), vocab_json_path); });
  write_file_atomically(merges_txt_path, [&](std::FILE* f) {
    const std::string header = "#version: 0.2\n";
    write_bytes(f, header.data(), header.size(), merges_txt_path);
    for (const auto& [first, second] : merges) {
      const std::string line = first + " " + second + "\n";
      write_bytes(f, line.data(), line.size(), merges_txt_path);
    }
  });
}

}  // namespace qn::data
