// The real data sets of ../shared/data (label `data`): each loader reproduces the counts its README states.
// Where ../shared/data is absent every test says so and skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "data/binarize.h"
#include "data/dictionary.h"
#include "data/gpt2_bpe.h"
#include "data/gz_file.h"
#include "data/idx.h"
#include "data/token_file.h"
#include "tests/data/data_files.h"
#include "tests/reference.h"

namespace qn::data {
namespace {

using testing::ScratchDir;
using testing::shared_data;
namespace fs = std::filesystem;

#define REQUIRE_SHARED_DATA(sub)                   \
  const fs::path data_dir = shared_data() / (sub); \
  if (!fs::exists(data_dir)) GTEST_SKIP() << "no shared data at " << data_dir << "; skipping"

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
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
  dictionary.save(dir.path("dict.txt"));
  const std::string command = "/usr/bin/python3 " QN_SOURCE_DIR "/tests/data/fairseq_dictionary.py " +
                              dir.path("reference.txt") + " -1 -1 8 " + train;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_TRUE(read_all(dir.path("dict.txt")) == read_all(dir.path("reference.txt")))
      << "dict.txt differs from fairseq's algorithm";
  EXPECT_EQ(dictionary.size() % 8, 0);
}

// A size limit and threshold on PTB against the same reference.
TEST(Ptb, LimitedDictionaryMatchesFairseq) {
  REQUIRE_SHARED_DATA("ptb");
  ScratchDir dir("ptb");
  const std::string train = (data_dir / "ptb.train.txt.gz").string();
  Dictionary::build({train}, 5, 5000, 8).save(dir.path("dict.txt"));
  const std::string command = "/usr/bin/python3 " QN_SOURCE_DIR "/tests/data/fairseq_dictionary.py " +
                              dir.path("reference.txt") + " 5 5000 8 " + train;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_TRUE(read_all(dir.path("dict.txt")) == read_all(dir.path("reference.txt")));
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

// The crafted lines of tests/data/bpe_lines.txt (scripts, emoji, contractions, every kind of whitespace) and
// WikiText-2's validation text, with GPT-2's encoder.json/vocab.bpe and roberta-base's vocab.json/merges.txt.
TEST(Gpt2BpeReal, MatchesTheReferenceEncoderOnAThousandLines) {
  REQUIRE_SHARED_DATA("gpt2-bpe");
  ScratchDir dir("bpe_real");
  std::string corpus;
  {
    std::ifstream crafted(QN_SOURCE_DIR "/tests/data/bpe_lines.txt", std::ios::binary);
    std::stringstream s;
    s << crafted.rdbuf();
    corpus = s.str();
  }
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
