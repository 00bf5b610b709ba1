#include "data/glue.h"

#include <algorithm>

#include "core/error.h"
#include "data/gz_file.h"

namespace qn::data {
namespace {

constexpr const char* kOp = "glue";

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

}  // namespace

int64_t GlueTask::label_id(const std::string& value) const {
  auto it = std::find(labels.begin(), labels.end(), value);
  return it == labels.end() ? -1 : static_cast<int64_t>(it - labels.begin());
}

const GlueTask& glue_task(const std::string& name) {
  static const std::vector<GlueTask> tasks = {
      {"mnli", "sentence1", "sentence2", "gold_label", {"contradiction", "entailment", "neutral"}},
      {"rte", "sentence1", "sentence2", "label", {"entailment", "not_entailment"}},
      {"qnli", "question", "sentence", "label", {"entailment", "not_entailment"}},
      {"mrpc", "#1 String", "#2 String", "Quality", {"0", "1"}},
      {"sst2", "sentence", "", "label", {"0", "1"}},
  };
  for (const GlueTask& task : tasks) {
    if (task.name == name) return task;
  }
  throw_error(kOp, detail::concat("unknown GLUE task '", name, "' (mnli, rte, qnli, mrpc, sst2)"));
}

std::vector<GlueExample> read_glue_tsv(const std::string& path, const GlueTask& task) {
  std::vector<GlueExample> examples;
  int s1 = -1, s2 = -1, label = -1;
  size_t fields_per_row = 0;
  for_each_line(path, kOp, [&](std::string_view line, int64_t number) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (number == 1) {
      if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 BOM
      const std::vector<std::string_view> header = split_tabs(line);
      fields_per_row = header.size();
      for (int i = 0; i < static_cast<int>(header.size()); ++i) {
        if (header[static_cast<size_t>(i)] == task.sentence1) s1 = i;
        if (!task.sentence2.empty() && header[static_cast<size_t>(i)] == task.sentence2) s2 = i;
        if (header[static_cast<size_t>(i)] == task.label) label = i;
      }
      QN_CHECK(s1 >= 0 && (task.sentence2.empty() || s2 >= 0), kOp, "'", path, "' line 1: the header \"", line,
               "\" lacks the ", task.name, " columns \"", task.sentence1, "\"",
               task.sentence2.empty() ? "" : " and \"" + task.sentence2 + "\"");
      return;
    }
    if (line.empty()) return;  // a final empty line
    const std::vector<std::string_view> fields = split_tabs(line);
    QN_CHECK(fields.size() == fields_per_row, kOp, "'", path, "' line ", number, " has ", fields.size(),
             " tab-separated fields; the header has ", fields_per_row);
    GlueExample example;
    example.sentence1 = fields[static_cast<size_t>(s1)];
    if (s2 >= 0) example.sentence2 = fields[static_cast<size_t>(s2)];
    example.line = number;
    if (label >= 0) {
      const std::string value(fields[static_cast<size_t>(label)]);
      example.label = task.label_id(value);
      QN_CHECK(example.label >= 0, kOp, "'", path, "' line ", number, ": unknown ", task.name, " label \"", value,
               "\"");
    }
    examples.push_back(std::move(example));
  });
  QN_CHECK(fields_per_row > 0, kOp, "'", path, "' is empty (no header)");
  return examples;
}

RobertaInputEncoder::RobertaInputEncoder(Gpt2Bpe bpe, std::optional<Dictionary> dictionary, int64_t max_tokens)
    : bpe_(std::move(bpe)), dictionary_(std::move(dictionary)), max_tokens_(max_tokens) {
  QN_CHECK(max_tokens >= 4, "RobertaInputEncoder", "max_tokens must leave room for the 4 special tokens, got ",
           max_tokens);
}

std::vector<int64_t> RobertaInputEncoder::encode_sentence(const std::string& text) const {
  std::vector<int64_t> ids = bpe_.encode(text);
  if (dictionary_) {
    for (int64_t& id : ids) id = dictionary_->index(std::to_string(id));
  }
  return ids;
}

std::vector<int64_t> RobertaInputEncoder::encode(const std::string& sentence1, const std::string& sentence2) const {
  std::vector<int64_t> a = encode_sentence(sentence1), b;
  const bool pair = !sentence2.empty();
  if (pair) b = encode_sentence(sentence2);
  const int64_t budget = max_tokens_ - (pair ? 4 : 2);
  while (static_cast<int64_t>(a.size() + b.size()) > budget) {
    (a.size() > b.size() ? a : b).pop_back();  // longest first; the second sentence on a tie
  }
  std::vector<int64_t> ids = {kBos};
  ids.insert(ids.end(), a.begin(), a.end());
  ids.push_back(kEos);
  if (pair) {
    ids.push_back(kEos);
    ids.insert(ids.end(), b.begin(), b.end());
    ids.push_back(kEos);
  }
  return ids;
}

}  // namespace qn::data
