// Text data: fairseq's tokenize_line and Dictionary (build order, threshold, size limit, padding, dict.txt
// in and out and its malformed lines), the token file (both widths, every malformed header) and fairseq's
// LM block cutting, on small inputs whose answers are worked out by hand here.
#include <gtest/gtest.h>

#include "data/binarize.h"
#include "data/dictionary.h"
#include "data/lm_blocks.h"
#include "data/token_file.h"
#include "tests/data/data_files.h"
#include "tests/reference.h"

namespace qn::data {
namespace {

using testing::ScratchDir;
namespace fs = std::filesystem;

std::vector<std::string> strings(const std::vector<std::string_view>& views) { return {views.begin(), views.end()}; }

TEST(TokenizeLine, SplitsOnPythonWhitespace) {
  EXPECT_EQ(strings(tokenize_line(" = Robert Boulter = \r")),
            (std::vector<std::string>{"=", "Robert", "Boulter", "="}));
  EXPECT_EQ(strings(tokenize_line("a\tb\x0b"
                                  "c\x1f"
                                  "d")),
            (std::vector<std::string>{"a", "b", "c", "d"}));
  // U+00A0 (no-break space) and U+3000 (ideographic space) are whitespace to Python; U+200B is not.
  EXPECT_EQ(strings(tokenize_line("x\u00a0y\u3000z\u200bw")), (std::vector<std::string>{"x", "y", "z\u200bw"}));
  EXPECT_EQ(strings(tokenize_line("caf\u00e9 na\u00efve")), (std::vector<std::string>{"caf\u00e9", "na\u00efve"}));
  EXPECT_TRUE(tokenize_line("   ").empty());
  EXPECT_EQ(strings(tokenize_line("bad\xff byte")), (std::vector<std::string>{"bad\xff", "byte"}));
}

TEST(Dictionary, BuildsInFairseqOrderWithThresholdLimitAndPadding) {
  ScratchDir dir("dictionary");
  // counts: b 3, a 3, c 2, </s> 3 (one per line), d 1, <unk> 1 (the special's own count grows)
  const std::string corpus = dir.write("corpus.txt", "b a c\nb a d <unk>\na b c\n");
  const Dictionary all = Dictionary::build({corpus}, -1, -1, 1);
  ASSERT_EQ(all.size(), 8);
  const char* expected[] = {"<s>", "<pad>", "</s>", "<unk>", "a", "b", "c", "d"};  // ties in code point order
  for (int i = 0; i < 8; ++i) EXPECT_EQ(all.symbol(i), expected[i]);
  EXPECT_EQ(all.count(Dictionary::kEos), 4);  // 1 + 3 lines
  EXPECT_EQ(all.count(4), 3);
  EXPECT_EQ(all.index("zzz"), Dictionary::kUnk);

  const Dictionary frequent = Dictionary::build({corpus}, 2, -1, 1);  // d (1) goes
  EXPECT_EQ(frequent.size(), 7);
  const Dictionary limited = Dictionary::build({corpus}, -1, 6, 1);  // 6 symbols in all
  EXPECT_EQ(limited.size(), 6);
  EXPECT_EQ(limited.symbol(5), "b");
  const Dictionary padded = Dictionary::build({corpus}, -1, -1, 5);  // 8 -> 10
  ASSERT_EQ(padded.size(), 10);
  EXPECT_EQ(padded.symbol(8), "madeupword0000");
  EXPECT_EQ(padded.symbol(9), "madeupword0001");

  EXPECT_EQ(all.encode_line(" a  zzz d "), (std::vector<int64_t>{4, Dictionary::kUnk, 7, Dictionary::kEos}));
  EXPECT_EQ(all.encode_line("a", false), (std::vector<int64_t>{4}));
}

TEST(Dictionary, DictTxtRoundTripsAndRejectsMalformedLines) {
  ScratchDir dir("dict_txt");
  Dictionary d;
  d.add_symbol("the", 10);
  d.add_symbol("caf\u00e9", 4);
  d.add_symbol("1 2", 3);  // a word with a space: the count is split off at the last space
  d.save(dir.path("dict.txt"));
  EXPECT_EQ(testing::read_text(dir.path("dict.txt")), "the 10\ncaf\u00e9 4\n1 2 3\n");
  const Dictionary back = Dictionary::load(dir.path("dict.txt"));
  ASSERT_EQ(back.size(), 7);
  EXPECT_EQ(back.index("1 2"), 6);
  EXPECT_EQ(back.count(5), 4);

  const Dictionary overwritten = Dictionary::load(dir.write("o.txt", "a 5\na 7 #fairseq:overwrite\n"));
  EXPECT_EQ(overwritten.size(), 5);
  EXPECT_EQ(overwritten.count(4), 7);
  EXPECT_QN_ERROR(Dictionary::load(dir.write("dup.txt", "a 5\nb 1\na 2\n")), "Dictionary",
                  "line 3: duplicate word \"a\"");
  EXPECT_QN_ERROR(Dictionary::load(dir.write("count.txt", "a 5\nb x1\n")), "Dictionary",
                  "line 2: the count \"x1\" is not a non-negative integer");
  EXPECT_QN_ERROR(Dictionary::load(dir.write("nospace.txt", "a 5\nlonely\n")), "Dictionary",
                  "line 2: expected \"word count\"");
  EXPECT_QN_ERROR(Dictionary::load(dir.path("missing.txt")), "Dictionary", "cannot open");
}

TEST(TokenFile, RoundTripsBothWidthsAndRejectsMalformedFiles) {
  ScratchDir dir("token_file");
  const std::vector<uint32_t> tokens = {5, 0, 65535, 2, 7, 2};
  const std::vector<int64_t> lines = {3, 4, 6};
  for (const int64_t vocabulary : {int64_t{65536}, int64_t{70000}}) {
    write_token_file(dir.path("t.tok"), vocabulary, tokens, lines);
    const TokenFile file(dir.path("t.tok"));
    EXPECT_EQ(file.size(), 6);
    EXPECT_EQ(file.lines(), 3);
    EXPECT_EQ(file.vocabulary_size(), vocabulary);
    EXPECT_EQ(fs::file_size(dir.path("t.tok")), 40u + (vocabulary == 65536 ? 16u : 24u) + 24u);
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(file.token(i), tokens[static_cast<size_t>(i)]);
    EXPECT_EQ(file.line_begin(1), 3);
    EXPECT_EQ(file.line_end(2), 6);
    const Tensor slice = file.slice(1, 4);
    EXPECT_EQ(qn::testing::at(slice, {1}), 65535.0);
    EXPECT_QN_ERROR(file.slice(4, 7), "TokenFile", "outside the 6");
  }
  EXPECT_QN_ERROR(write_token_file(dir.path("x.tok"), 10, {3, 11}, {2}), "TokenFile", "token 11 is outside");
  EXPECT_QN_ERROR(write_token_file(dir.path("x.tok"), 10, {3, 1}, {1}), "TokenFile", "last line must end");

  // Damage a good file in each field; every open fails naming the file.
  write_token_file(dir.path("good.tok"), 100, {1, 2, 3}, {3});
  std::string good;
  {
    std::ifstream in(dir.path("good.tok"), std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto damaged = [&](const std::string& name, size_t offset, const std::string& bytes,
                     size_t keep = std::string::npos) {
    std::string b = good.substr(0, keep);
    if (offset < b.size()) b.replace(offset, bytes.size(), bytes);
    return dir.write(name, b);
  };
  EXPECT_QN_ERROR(TokenFile(damaged("magic.tok", 0, "XX")), "TokenFile", "bad magic");
  EXPECT_QN_ERROR(TokenFile(damaged("width.tok", 8, std::string("\3", 1))), "TokenFile", "token width 3");
  EXPECT_QN_ERROR(TokenFile(damaged("short.tok", 99, "", good.size() - 8)), "TokenFile", "header (3 tokens");
  EXPECT_QN_ERROR(TokenFile(damaged("tiny.tok", 99, "", 20)), "TokenFile", "too short");
  EXPECT_QN_ERROR(TokenFile(damaged("vocab.tok", 16, std::string("\2\0", 2))), "TokenFile",
                  "outside the vocabulary of 2");
  EXPECT_QN_ERROR(TokenFile(damaged("lines.tok", 48, std::string("\2", 1))), "TokenFile", "lines end at 2 of 3");
  EXPECT_QN_ERROR(TokenFile(damaged("count.tok", 24, std::string(8, '\377'))), "TokenFile", "absurd");
  EXPECT_QN_ERROR(TokenFile(dir.path("missing.tok")), "TokenFile", "cannot open");
}

TEST(LmBlocks, FairseqBreakModesAndShiftedSources) {
  ScratchDir dir("blocks");
  // Lines of 3, 1, 5 and 2 tokens (each ending in </s> = 2).
  write_token_file(dir.path("s.tok"), 50, {10, 11, 2, 2, 20, 21, 22, 23, 2, 30, 2}, {3, 4, 9, 11});
  const TokenFile file(dir.path("s.tok"));
  auto ranges = [](const std::vector<TokenRange>& blocks) {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (const TokenRange& b : blocks) out.emplace_back(b.begin, b.end);
    return out;
  };
  using Ranges = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(ranges(token_blocks(file, 4, BreakMode::none)), (Ranges{{0, 4}, {4, 8}, {8, 11}}));
  // complete: 3 + 1 fit in 4; the 5-token line is alone; the 2-token line starts the next block.
  EXPECT_EQ(ranges(token_blocks(file, 4, BreakMode::complete)), (Ranges{{0, 4}, {4, 9}, {9, 11}}));
  EXPECT_EQ(ranges(token_blocks(file, 8, BreakMode::complete)), (Ranges{{0, 4}, {4, 11}}));
  EXPECT_EQ(ranges(token_blocks(file, 0, BreakMode::eos)), (Ranges{{0, 3}, {3, 4}, {4, 9}, {9, 11}}));
  EXPECT_EQ(parse_break_mode("complete"), BreakMode::complete);
  EXPECT_QN_ERROR(parse_break_mode("complete_doc"), "sample-break-mode", "none, complete, eos");

  const LmSample first = lm_sample(file, {0, 4}, 2);
  const LmSample second = lm_sample(file, {4, 8}, 2);
  auto values = [](const Tensor& t) {
    std::vector<int64_t> v(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.data_ptr<int64_t>()[i];
    return v;
  };
  EXPECT_EQ(values(first.target), (std::vector<int64_t>{10, 11, 2, 2}));
  EXPECT_EQ(values(first.source), (std::vector<int64_t>{2, 10, 11, 2}));    // </s> before the stream
  EXPECT_EQ(values(second.source), (std::vector<int64_t>{2, 20, 21, 22}));  // the token before the block
  EXPECT_EQ(values(second.target), (std::vector<int64_t>{20, 21, 22, 23}));
}

TEST(Binarize, CountsLinesTokensAndUnknownWords) {
  ScratchDir dir("binarize");
  Dictionary d;
  d.add_symbol("a");
  d.add_symbol("b");
  const BinarizeStats stats = binarize_text(dir.write("in.txt", "a b c\n\n<unk> a\n"), d, dir.path("out.tok"));
  EXPECT_EQ(stats.lines, 3);
  EXPECT_EQ(stats.tokens, 8);   // 3 + 1, 1, 2 + 1
  EXPECT_EQ(stats.unknown, 1);  // c; the literal <unk> is not replaced, it is the symbol
  const TokenFile file(dir.path("out.tok"));
  EXPECT_EQ(file.token(2), Dictionary::kUnk);
  EXPECT_EQ(file.line_end(1), 5);
}

}  // namespace
}  // namespace qn::data
