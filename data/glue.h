// GLUE sentence(-pair) classification files and RoBERTa's input format.
//
// Each task's TSV has a header naming its columns; rows are split on tabs only (fields are never quoted and may
// hold '"'), a UTF-8 BOM before the header is skipped, and every row must have the header's number of fields.
// Columns are found by their header names:
//   mnli   sentence1, sentence2, gold_label   labels contradiction, entailment, neutral
//   rte    sentence1, sentence2, label        labels entailment, not_entailment
//   qnli   question, sentence, label          labels entailment, not_entailment
//   mrpc   #1 String, #2 String, Quality      labels 0, 1
//   sst2   sentence, -, label                 labels 0, 1
// (label ids follow the GLUE / Hugging Face order above). A file without the label column (the test splits) gives
// unlabelled examples. A wrong field count or an unknown label is an error naming the file and line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/dictionary.h"
#include "data/gpt2_bpe.h"

namespace qn::data {

struct GlueTask {
  std::string name;
  std::string sentence1, sentence2;  // sentence2 empty: single-sentence task
  std::string label;
  std::vector<std::string> labels;
  int64_t label_id(const std::string& label) const;  // -1 when not a label of the task
};
// "mnli", "rte", "qnli", "mrpc", "sst2"; an unknown name lists them.
const GlueTask& glue_task(const std::string& name);

struct GlueExample {
  std::string sentence1, sentence2;
  int64_t label = -1;  // -1: unlabelled
  int64_t line = 0;    // in the file, from 1 (the header is line 1)
};
std::vector<GlueExample> read_glue_tsv(const std::string& path, const GlueTask& task);

// RoBERTa's input: <s> A </s> </s> B </s> (single sentence: <s> A </s>), A and B byte-level BPE encoded and, when
// a fairseq dict.txt is given, mapped through it (GPT-2 id -> its line's index); without one the BPE's ids are
// the model's (Hugging Face's roberta-base vocab.json). Longer inputs than max_tokens lose tokens from the end of
// the longer sentence first, as Hugging Face's longest_first truncation.
class RobertaInputEncoder {
 public:
  RobertaInputEncoder(Gpt2Bpe bpe, std::optional<Dictionary> dictionary, int64_t max_tokens = 512);
  std::vector<int64_t> encode(const std::string& sentence1, const std::string& sentence2 = "") const;
  std::vector<int64_t> encode_sentence(const std::string& text) const;  // BPE (+ dictionary), no specials

  static constexpr int64_t kBos = 0, kPad = 1, kEos = 2;

 private:
  Gpt2Bpe bpe_;
  std::optional<Dictionary> dictionary_;
  int64_t max_tokens_;
};

}  // namespace qn::data
