#include "data/dictionary.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/parse_integer.h"
#include "data/gz_file.h"
#include "data/utf8.h"

namespace qn::data {

std::vector<std::string_view> tokenize_line(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t start = std::string_view::npos;
  for (size_t pos = 0; pos < line.size();) {
    const std::optional<utf8::Decoded> d = utf8::decode(line, pos);
    const size_t length = d ? static_cast<size_t>(d->length) : 1;  // invalid bytes are word characters
    const bool space = d && utf8::is_space(d->code_point);
    if (space && start != std::string_view::npos) {
      tokens.push_back(line.substr(start, pos - start));
      start = std::string_view::npos;
    } else if (!space && start == std::string_view::npos) {
      start = pos;
    }
    pos += length;
  }
  if (start != std::string_view::npos) tokens.push_back(line.substr(start));
  return tokens;
}

Dictionary::Dictionary() {
  for (const char* special : {"<s>", "<pad>", "</s>", "<unk>"}) add_symbol(special, 1);
}

int64_t Dictionary::add_symbol(std::string_view word, int64_t count) {
  auto [it, added] = indices_.try_emplace(std::string(word), size());
  if (added) {
    symbols_.emplace_back(word);
    counts_.push_back(count);
  } else {
    counts_[static_cast<size_t>(it->second)] += count;
  }
  return it->second;
}

int64_t Dictionary::index(std::string_view word) const {
  auto it = indices_.find(std::string(word));
  return it == indices_.end() ? kUnk : it->second;
}

const std::string& Dictionary::symbol(int64_t id) const {
  QN_CHECK(id >= 0 && id < size(), "Dictionary", "id ", id, " is outside the ", size(), " symbols");
  return symbols_[static_cast<size_t>(id)];
}

int64_t Dictionary::count(int64_t id) const {
  symbol(id);  // range check
  return counts_[static_cast<size_t>(id)];
}

std::vector<int64_t> Dictionary::encode_line(std::string_view line, bool append_eos) const {
  std::vector<int64_t> ids;
  for (std::string_view token : tokenize_line(line)) ids.push_back(index(token));
  if (append_eos) ids.push_back(kEos);
  return ids;
}

void Dictionary::finalize(int64_t threshold, int64_t nwords, int64_t padding_factor) {
  if (nwords <= 0) nwords = size();
  std::vector<int64_t> order(static_cast<size_t>(size() - kSpecials));
  std::iota(order.begin(), order.end(), kSpecials);
  // Most frequent first; ties in code point order (UTF-8 byte order is code point order).
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const int64_t ca = counts_[static_cast<size_t>(a)], cb = counts_[static_cast<size_t>(b)];
    return ca != cb ? ca > cb : symbols_[static_cast<size_t>(a)] < symbols_[static_cast<size_t>(b)];
  });
  std::vector<std::string> symbols(symbols_.begin(), symbols_.begin() + kSpecials);
  std::vector<int64_t> counts(counts_.begin(), counts_.begin() + kSpecials);
  for (int64_t id : order) {
    if (static_cast<int64_t>(symbols.size()) >= nwords || counts_[static_cast<size_t>(id)] < threshold) break;
    symbols.push_back(std::move(symbols_[static_cast<size_t>(id)]));
    counts.push_back(counts_[static_cast<size_t>(id)]);
  }
  symbols_ = std::move(symbols);
  counts_ = std::move(counts);
  indices_.clear();
  for (int64_t i = 0; i < size(); ++i) indices_.emplace(symbols_[static_cast<size_t>(i)], i);
  if (padding_factor > 1) {
    for (int64_t extra = 0; size() % padding_factor != 0; ++extra) {
      char name[32];
      std::snprintf(name, sizeof name, "madeupword%04lld", static_cast<long long>(extra));
      add_symbol(name, 0);
    }
  }
}

Dictionary Dictionary::build(const std::vector<std::string>& paths, int64_t threshold, int64_t nwords,
                             int64_t padding_factor) {
  Dictionary dictionary;
  for (const std::string& path : paths) {
    for_each_line(path, "Dictionary", [&](std::string_view line, int64_t) {
      for (std::string_view token : tokenize_line(line)) dictionary.add_symbol(token);
      dictionary.add_symbol("</s>");
    });
  }
  dictionary.finalize(threshold, nwords, padding_factor);
  return dictionary;
}

Dictionary Dictionary::load(const std::string& path) {
  Dictionary dictionary;
  for_each_line(path, "Dictionary", [&](std::string_view line, int64_t number) {
    while (!line.empty() && static_cast<unsigned char>(line.back()) < 0x80 &&
           utf8::is_space(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);  // Python's rstrip; only ASCII, a UTF-8 continuation byte is not a character
    }
    auto field = [&]() {
      const size_t space = line.rfind(' ');
      QN_CHECK(space != std::string_view::npos && space > 0, "Dictionary", "'", path, "' line ", number,
               ": expected \"word count\", got \"", line, "\"");
      const std::string_view value = line.substr(space + 1);
      line = line.substr(0, space);
      return value;
    };
    std::string_view value = field();
    const bool overwrite = value == "#fairseq:overwrite";
    if (overwrite) value = field();
    const std::optional<int64_t> count = parse_integer<int64_t>(value);
    QN_CHECK(count.has_value() && *count >= 0, "Dictionary", "'", path, "' line ", number, ": the count \"", value,
             "\" is not a non-negative integer");
    QN_CHECK(overwrite || !dictionary.contains(line), "Dictionary", "'", path, "' line ", number, ": duplicate word \"",
             line, "\" (fairseq marks intended duplicates with #fairseq:overwrite)");
    if (overwrite && dictionary.contains(line)) {
      dictionary.counts_[static_cast<size_t>(dictionary.index(line))] = *count;
    } else {
      dictionary.add_symbol(line, *count);
    }
  });
  return dictionary;
}

void Dictionary::save(const std::string& path) const {
  write_file_atomically(path, [&](std::FILE* file) {
    for (int64_t i = kSpecials; i < size(); ++i) {
      const std::string line =
          symbols_[static_cast<size_t>(i)] + " " + std::to_string(counts_[static_cast<size_t>(i)]) + "\n";
      write_bytes(file, line.data(), line.size(), path);
    }
  });
}

}  // namespace qn::data
