// The real data sets of ../shared/data (label `data`): each loader reproduces the counts its README states.
// Where ../shared/data is absent every test says so and skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "data/binarize.h"
#include "data/dictionary.h"
#include "data/glue.h"
#include "data/gpt2_bpe.h"
#include "data/gz_file.h"
#include "data/idx.h"
#include "data/lm_blocks.h"
#include "data/loader.h"
#include "data/token_batches.h"
#include "data/token_file.h"
#include "tests/data/data_files.h"
#include "tests/reference.h"

namespace qn::data {
namespace {

using testing::read_text;
using testing::ScratchDir;
using testing::shared_data;
namespace fs = std::filesystem;

// Writes fairseq's dictionary for the corpus with tests/data/fairseq_dictionary.py and compares ours to it.
void expect_fairseq_dictionary(const Dictionary& ours, const std::string& corpus, int64_t threshold, int64_t nwords,
                               const ScratchDir& dir) {
  ours.save(dir.path("dict.txt"));
  const std::string command = "/usr/bin/python3 " QN_SOURCE_DIR "/tests/data/fairseq_dictionary.py " +
                              dir.path("reference.txt") + " " + std::to_string(threshold) + " " +
                              std::to_string(nwords) + " 8 " + corpus;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_TRUE(read_text(dir.path("dict.txt")) == read_text(dir.path("reference.txt")))
      << "dict.txt differs from fairseq's algorithm";
}

// WikiText-2: 2,088,628 / 217,646 / 245,569 tokens with </s>, a 33,278-word vocabulary (every distinct train
// token and </s>), no valid or test word outside it, and dict.txt byte-identical to fairseq's algorithm.
TEST(WikiText2, TokenCountsVocabularyAndFairseqDictionary) {
  REQUIRE_SHARED_DATA("wikitext-2");
  ScratchDir dir("wikitext2");
  const std::string train = (data_dir / "train.txt.gz").string();
  const Dictionary dictionary = Dictionary::build({train});
  const std::pair<const char*, int64_t> splits[] = {{"train", 2088628}, {"valid", 217646}, {"test", 245569}};
  for (const auto& [split, tokens] : splits) {
    SCOPED_TRACE(split);
    const BinarizeStats stats =
        binarize_text((data_dir / (std::string(split) + ".txt.gz")).string(), dictionary, dir.path(split));
    EXPECT_EQ(stats.tokens, tokens);
    EXPECT_EQ(stats.unknown, 0);
    const TokenFile file(dir.path(split));
    EXPECT_EQ(file.size(), tokens);
    if (std::string(split) == "train") {
      std::set<int64_t> distinct;
      for (int64_t i = 0; i < file.size(); ++i) distinct.insert(file.token(i));
      EXPECT_EQ(distinct.size(), 33278u);
      EXPECT_EQ(file.lines(), 36718);
    }
  }
  expect_fairseq_dictionary(dictionary, train, -1, -1, dir);
  EXPECT_EQ(dictionary.size() % 8, 0);
}

// A size limit and threshold on PTB against the same reference.
TEST(Ptb, LimitedDictionaryMatchesFairseq) {
  REQUIRE_SHARED_DATA("ptb");
  ScratchDir dir("ptb");
  const std::string train = (data_dir / "ptb.train.txt.gz").string();
  expect_fairseq_dictionary(Dictionary::build({train}, 5, 5000, 8), train, 5, 5000, dir);
  const BinarizeStats stats = binarize_text(train, Dictionary::build({train}), dir.path("train.tok"));
  EXPECT_EQ(stats.tokens, 929589);
}

std::vector<int> class_counts(const Tensor& labels) {
  std::vector<int> counts(10, 0);
  for (int64_t i = 0; i < labels.numel(); ++i) ++counts.at(labels.data_ptr<uint8_t>()[i]);
  return counts;
}

TEST(FashionMnist, TestSetFromDebian) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed; skipping";
  EXPECT_EQ(read_idx((dir / "t10k-images-idx3-ubyte.gz").string()).shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(class_counts(read_idx((dir / "t10k-labels-idx1-ubyte.gz").string())), std::vector<int>(10, 1000));
}

TEST(Mnist, TrainAndTestSets) {
  REQUIRE_SHARED_DATA("mnist");
  EXPECT_EQ(read_idx((data_dir / "train-images-idx3-ubyte.gz").string()).shape(), (Shape{60000, 28, 28}));
  EXPECT_EQ(class_counts(read_idx((data_dir / "train-labels-idx1-ubyte.gz").string())),
            (std::vector<int>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(read_idx((data_dir / "t10k-images-idx3-ubyte.gz").string()).shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(class_counts(read_idx((data_dir / "t10k-labels-idx1-ubyte.gz").string())),
            (std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
}

}  // namespace
}  // namespace qn::data

namespace qn::data {
namespace {

// Encodes lines (a literal "\n" in a line stands for a newline) with ours and with the reference script.
void expect_bpe_matches_reference(const std::string& vocab, const std::string& merges, const std::string& lines_path,
                                  const ScratchDir& dir) {
  const Gpt2Bpe bpe = Gpt2Bpe::load(vocab, merges);
  const std::string out = dir.path("reference_ids.txt");
  const std::string command = "/usr/bin/python3 " QN_SOURCE_DIR "/tests/data/gpt2_reference.py " + vocab + " " +
                              merges + " " + lines_path + " " + out;
  ASSERT_EQ(std::system(command.c_str()), 0) << command << " (python3-regex is a test dependency)";
  std::ifstream text(lines_path), reference(out);
  std::string line, expected;
  int64_t lines = 0, non_ascii = 0;
  while (std::getline(text, line)) {
    ASSERT_TRUE(std::getline(reference, expected)) << "the reference has fewer lines";
    for (size_t p; (p = line.find("\\n")) != std::string::npos;) line.replace(p, 2, "\n");
    std::string ours;
    for (int64_t id : bpe.encode(line)) ours += (ours.empty() ? "" : " ") + std::to_string(id);
    ASSERT_EQ(ours, expected) << "line " << lines + 1 << ": " << line;
    ++lines;
    non_ascii += std::any_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  }
  EXPECT_GE(lines, 1000);
  EXPECT_GE(non_ascii, 40);
}

// bpe_encode_text, the first step of `qn preprocess --bpe-dir`, against the reference encoder with fairseq's
// multiprocessing_bpe_encoder's handling of lines: stripped (Unicode whitespace too), empty lines kept.
TEST(Gpt2BpeReal, EncodesATextFileLikeFairseqsEncoder) {
  REQUIRE_SHARED_DATA("gpt2-bpe");
  ScratchDir dir("bpe_file");
  const std::string corpus = read_text(QN_SOURCE_DIR "/tests/data/bpe_lines.txt") +
                             "\n   \n\t indented, then spaces and a no-break space   \u00a0\n\u3000ideographic space\n";
  const std::string lines = dir.write("lines.txt", corpus);
  const std::string vocab = (data_dir / "encoder.json").string(), merges = (data_dir / "vocab.bpe").string();
  const std::string ours = dir.path("ours.bpe"), reference = dir.path("reference.bpe");
  EXPECT_EQ(bpe_encode_text(lines, Gpt2Bpe::load(vocab, merges), ours), std::count(corpus.begin(), corpus.end(), '\n'));
  const std::string command = "/usr/bin/python3 " QN_SOURCE_DIR "/tests/data/gpt2_reference.py " + vocab + " " +
                              merges + " " + lines + " " + reference + " --strip";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(read_text(ours), read_text(reference));
}

// The crafted lines of tests/data/bpe_lines.txt (scripts, emoji, contractions, every kind of whitespace) and
// WikiText-2's validation text, with GPT-2's encoder.json/vocab.bpe and roberta-base's vocab.json/merges.txt.
TEST(Gpt2BpeReal, MatchesTheReferenceEncoderOnAThousandLines) {
  REQUIRE_SHARED_DATA("gpt2-bpe");
  ScratchDir dir("bpe_real");
  std::string corpus = read_text(QN_SOURCE_DIR "/tests/data/bpe_lines.txt");
  const fs::path wikitext = shared_data() / "wikitext-2" / "valid.txt.gz";
  ASSERT_TRUE(fs::exists(wikitext));
  for_each_line(wikitext.string(), "test", [&](std::string_view line, int64_t) { corpus.append(line).append("\n"); });
  const std::string lines = dir.write("lines.txt", corpus);
  expect_bpe_matches_reference((data_dir / "encoder.json").string(), (data_dir / "vocab.bpe").string(), lines, dir);
  expect_bpe_matches_reference((data_dir / "roberta-base" / "vocab.json").string(),
                               (data_dir / "roberta-base" / "merges.txt").string(), lines, dir);

  // Known ids from the data set's README.
  const Gpt2Bpe gpt2 = Gpt2Bpe::load((data_dir / "encoder.json").string(), (data_dir / "vocab.bpe").string());
  EXPECT_EQ(gpt2.encode("Hello world"), (std::vector<int64_t>{15496, 995}));
  EXPECT_EQ(gpt2.decode(gpt2.encode("caf\u00e9 \U0001f600\n")), "caf\u00e9 \U0001f600\n");
}

}  // namespace
}  // namespace qn::data

namespace qn::data {
namespace {

struct GlueSplit {
  const char* file;
  int64_t rows;
  std::vector<int64_t> label_counts;  // by label id; empty: unlabelled
};

void expect_glue_counts(const fs::path& dir, const std::string& task, const std::vector<GlueSplit>& splits) {
  for (const GlueSplit& split : splits) {
    SCOPED_TRACE(task + " " + split.file);
    const std::vector<GlueExample> rows = read_glue_tsv((dir / split.file).string(), glue_task(task));
    EXPECT_EQ(static_cast<int64_t>(rows.size()), split.rows);
    std::vector<int64_t> counts(split.label_counts.size(), 0);
    for (const GlueExample& row : rows) {
      if (split.label_counts.empty()) {
        EXPECT_EQ(row.label, -1);
      } else {
        ++counts.at(static_cast<size_t>(row.label));
      }
    }
    EXPECT_EQ(counts, split.label_counts);
  }
}

TEST(Glue, RteAndMrpcRowsAndLabels) {
  REQUIRE_SHARED_DATA("glue");
  // RTE labels: entailment, not_entailment. MRPC: 0, 1.
  expect_glue_counts(data_dir / "rte", "rte",
                     {{"train.tsv", 2490, {1249, 1241}}, {"dev.tsv", 277, {146, 131}}, {"test.tsv", 3000, {}}});
  expect_glue_counts(data_dir / "mrpc", "mrpc",
                     {{"train.tsv", 3668, {1194, 2474}}, {"dev.tsv", 408, {129, 279}}, {"test.tsv", 1725, {}}});
}

// RoBERTa inputs two independent ways: GPT-2 ids mapped through fairseq's dict.txt, and roberta-base's
// vocab.json (which the data set's README shows to be that same mapping); plus the known ids of "." and "the".
TEST(Glue, RobertaInputsAgreeThroughDictTxtAndVocabJson) {
  REQUIRE_SHARED_DATA("gpt2-bpe");
  const fs::path glue = shared_data() / "glue" / "rte" / "dev.tsv";
  ASSERT_TRUE(fs::exists(glue));
  const RobertaInputEncoder fairseq(
      Gpt2Bpe::load((data_dir / "encoder.json").string(), (data_dir / "vocab.bpe").string()),
      Dictionary::load((data_dir / "dict.txt").string()));
  const RobertaInputEncoder hf(Gpt2Bpe::load((data_dir / "roberta-base" / "vocab.json").string(),
                                             (data_dir / "roberta-base" / "merges.txt").string()),
                               std::nullopt);
  for (const GlueExample& row : read_glue_tsv(glue.string(), glue_task("rte"))) {
    const std::vector<int64_t> ids = fairseq.encode(row.sentence1, row.sentence2);
    ASSERT_EQ(ids, hf.encode(row.sentence1, row.sentence2)) << "line " << row.line;
    ASSERT_EQ(ids.front(), 0);
    ASSERT_EQ(ids.back(), 2);
  }
  EXPECT_EQ(fairseq.encode_sentence(" the."), (std::vector<int64_t>{5, 4}));

  // Truncation to 12 tokens: 8 left for the two sentences, taken from the longer one first.
  const RobertaInputEncoder short_inputs(Gpt2Bpe::load((data_dir / "roberta-base" / "vocab.json").string(),
                                                       (data_dir / "roberta-base" / "merges.txt").string()),
                                         std::nullopt, 12);
  // "the" and " the" are one token each, so the sentences' lengths are their word counts.
  const std::string a = "the the the the the the the", b = "the the the";
  const std::vector<int64_t> full_a = short_inputs.encode_sentence(a), full_b = short_inputs.encode_sentence(b);
  ASSERT_EQ(full_a.size(), 7u);
  ASSERT_EQ(full_b.size(), 3u);
  // 10 -> 8: a loses two (7 > 3, then 6 > 3), b keeps its 3.
  const std::vector<int64_t> ids = short_inputs.encode(a, b);
  ASSERT_EQ(ids.size(), 12u);
  EXPECT_EQ(std::vector<int64_t>(ids.begin() + 1, ids.begin() + 6),
            std::vector<int64_t>(full_a.begin(), full_a.begin() + 5));
  EXPECT_EQ(std::vector<int64_t>(ids.begin() + 8, ids.begin() + 11), full_b);
  // A tie (4 and 4 into 6): the second sentence gives first, then the longer: 3 + 3.
  const std::vector<int64_t> tie =
      RobertaInputEncoder(Gpt2Bpe::load((data_dir / "roberta-base" / "vocab.json").string(),
                                        (data_dir / "roberta-base" / "merges.txt").string()),
                          std::nullopt, 10)
          .encode("the the the the", "a a a a");
  ASSERT_EQ(tie.size(), 10u);
  EXPECT_EQ(tie[4], 2);  // <s> + 3 + </s>
}

}  // namespace
}  // namespace qn::data

namespace qn::data {
namespace {

// The largest batch's padded size, and every sample seen once.
void expect_budget_and_cover(const std::vector<IndexBatch>& batches, const std::vector<int64_t>& sizes,
                             int64_t max_tokens) {
  std::vector<int> seen(sizes.size(), 0);
  for (const IndexBatch& batch : batches) {
    int64_t longest = 0;
    for (const int64_t i : batch) {
      longest = std::max(longest, sizes[static_cast<size_t>(i)]);
      ++seen[static_cast<size_t>(i)];
    }
    ASSERT_LE(longest * static_cast<int64_t>(batch.size()), max_tokens);
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<std::ptrdiff_t>(sizes.size()));
}

// WikiText-2 train as fairseq's language_modeling task reads it: 512-token blocks (break mode none) in batches
// of at most 4,096 tokens; one epoch predicts every token exactly once.
TEST(WikiText2, LanguageModelBatchesByMaxTokens) {
  REQUIRE_SHARED_DATA("wikitext-2");
  ScratchDir dir("wikitext2_lm");
  const std::string train = (data_dir / "train.txt.gz").string();
  const Dictionary dictionary = Dictionary::build({train});
  binarize_text(train, dictionary, dir.path("train.tok"));
  const TokenFile tokens(dir.path("train.tok"));
  const LmBatchMaker maker(tokens, token_blocks(tokens, 512, BreakMode::none), Dictionary::kEos, Dictionary::kPad);
  TokenBatchOptions options;
  options.max_tokens = 4096;
  options.seed = 3;
  const std::vector<int64_t> sizes = maker.sizes();
  const std::vector<IndexBatch> batches = token_batches(sizes, 0, options);
  expect_budget_and_cover(batches, sizes, options.max_tokens);
  EXPECT_EQ(batches.size(), static_cast<size_t>((2088628 / 512 + 1 + 7) / 8));  // 8 blocks per batch, one short block

  Loader<LmBatch> loader([&](int64_t epoch) { return token_batches(sizes, epoch, options); }, maker, {2, 2});
  loader.begin_epoch(0);
  int64_t predicted = 0;
  while (!loader.done()) {
    const LmBatch batch = loader.next();
    ASSERT_LE(batch.target.numel(), 4096);
    predicted += batch.target_tokens;
    // Source is target shifted right by one within each row (before padding).
    const int64_t t = batch.target.shape()[1];
    for (int64_t r = 0; r < batch.target.shape()[0]; ++r)
      for (int64_t c = 1; c < t; ++c) {
        const int64_t target = batch.target.data_ptr<int64_t>()[r * t + c - 1];
        if (batch.target.data_ptr<int64_t>()[r * t + c] == Dictionary::kPad) break;
        ASSERT_EQ(batch.source.data_ptr<int64_t>()[r * t + c], target);
      }
  }
  EXPECT_EQ(predicted, 2088628);
}

// RTE train as RoBERTa inputs, length-bucketed under a token budget: padded batches stay within it, rows start
// with <s> and pad with 1 after </s>, and all 2,490 labelled pairs are used once.
TEST(Glue, RteLengthBucketedBatches) {
  REQUIRE_SHARED_DATA("gpt2-bpe");
  const RobertaInputEncoder encoder(
      Gpt2Bpe::load((data_dir / "encoder.json").string(), (data_dir / "vocab.bpe").string()),
      Dictionary::load((data_dir / "dict.txt").string()));
  std::vector<std::vector<int64_t>> inputs;
  std::vector<int64_t> labels;
  for (const GlueExample& row : read_glue_tsv((shared_data() / "glue/rte/train.tsv").string(), glue_task("rte"))) {
    inputs.push_back(encoder.encode(row.sentence1, row.sentence2));
    labels.push_back(row.label);
  }
  const SentencePairBatchMaker maker(inputs, labels, RobertaInputEncoder::kPad);
  TokenBatchOptions options;
  options.max_tokens = 4400;
  options.max_sentences = 16;
  const std::vector<int64_t> sizes = maker.sizes();
  const std::vector<IndexBatch> batches = token_batches(sizes, 1, options);
  expect_budget_and_cover(batches, sizes, options.max_tokens);
  int64_t rows = 0, entailment = 0;
  for (const IndexBatch& indices : batches) {
    const SentencePairBatch batch = maker(indices, 1);
    const int64_t n = batch.tokens.shape()[0], t = batch.tokens.shape()[1];
    ASSERT_LE(n, 16);
    for (int64_t r = 0; r < n; ++r) {
      const auto& input = inputs[static_cast<size_t>(indices[static_cast<size_t>(r)])];
      ASSERT_EQ(batch.tokens.data_ptr<int64_t>()[r * t], 0);
      for (int64_t c = 0; c < t; ++c)
        ASSERT_EQ(batch.tokens.data_ptr<int64_t>()[r * t + c],
                  c < static_cast<int64_t>(input.size()) ? input[static_cast<size_t>(c)] : 1);
      entailment += batch.labels.data_ptr<int64_t>()[r] == 0;
    }
    rows += n;
  }
  EXPECT_EQ(rows, 2490);
  EXPECT_EQ(entailment, 1249);
}

}  // namespace
}  // namespace qn::data
