// GPT-2 BPE without the released files: the pre-tokenizer's splits and the merge order on hand-worked
// examples, the trainer on a corpus whose pair counts are counted here, and malformed vocabularies and
// merges. (The released vocabularies against the reference encoder: real_data_test.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/gpt2_bpe.h"
#include "tests/data/data_files.h"
#include "tests/reference.h"

namespace qn::data {
namespace {

using testing::ScratchDir;

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view p : Gpt2Bpe::pre_tokenize(text)) out.emplace_back(p);
  return out;
}

TEST(Gpt2Bpe, PreTokenizerSplitsAsThePattern) {
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces("Hello  world\n"), (V{"Hello", " ", " world", "\n"}));
  EXPECT_EQ(pieces("I'm here's 42abc"), (V{"I", "'m", " here", "'s", " 42", "abc"}));
  EXPECT_EQ(pieces(" \t x"), (V{" \t", " x"}));  // a run gives its last space to the word after it
  EXPECT_EQ(pieces("a!!b 'x"), (V{"a", "!!", "b", " '", "x"}));
  EXPECT_EQ(pieces("end   "), (V{"end", "   "}));
  EXPECT_EQ(pieces("\nword"), (V{"\n", "word"}));  // only a space (U+0020) joins the next piece
  EXPECT_EQ(pieces("x\u00a0y"), (V{"x", "\u00a0", "y"}));
  EXPECT_EQ(pieces("\u00e9t\u00e9 \u0663\u0664"), (V{"\u00e9t\u00e9", " \u0663\u0664"}));  // letters; Arabic digits
  EXPECT_QN_ERROR(Gpt2Bpe::pre_tokenize("ok\xc3("), "Gpt2Bpe", "not valid UTF-8 (byte 2)");
}

// Every byte symbol (ids 0-255 in byte order here) plus the given tokens.
std::unordered_map<std::string, int64_t> byte_vocabulary(const std::vector<std::string>& extra) {
  std::unordered_map<std::string, int64_t> v;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    int shifted = 0;
    for (int c = 0; c < b; ++c) shifted += !((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE);
    const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + shifted);
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    v[s] = b;
  }
  for (const std::string& t : extra) v[t] = static_cast<int64_t>(v.size());
  return v;
}

TEST(Gpt2Bpe, MergesLowestRankFirstAndRoundTrips) {
  auto vocabulary = byte_vocabulary({"ab", "abc", "cd",
                                     "\xc4\xa0"
                                     "ab"});
  const int64_t ab = vocabulary["ab"], abc = vocabulary["abc"],
                space_ab = vocabulary
                    ["\xc4\xa0"
                     "ab"];
  const Gpt2Bpe bpe(vocabulary, {{"a", "b"}, {"ab", "c"}, {"c", "d"}, {"\xc4\xa0", "ab"}});
  // a b c d: (a,b) rank 0 -> ab c d; (ab,c) rank 1 beats (c,d) rank 2 -> abc d.
  EXPECT_EQ(bpe.encode("abcd"), (std::vector<int64_t>{abc, 'd'}));
  // Both occurrences of (a,b) merge in one step; the space is U+0120.
  EXPECT_EQ(bpe.encode("abab ab"), (std::vector<int64_t>{ab, ab, space_ab}));
  EXPECT_EQ(bpe.decode(bpe.encode("abab ab\n\xe2\x82\xac")), "abab ab\n\xe2\x82\xac");
  EXPECT_EQ(bpe.encode("\n"), (std::vector<int64_t>{'\n'}));  // byte 0x0A is U+010A, id 10 here
  EXPECT_QN_ERROR(bpe.token(100000), "Gpt2Bpe", "not in the vocabulary");
}

TEST(Gpt2Bpe, TrainerMergesTheMostFrequentPairs) {
  ScratchDir dir("bpe_train");
  // Pieces "aaab", " aaab", " aab". Pairs: (a,a) 5, (a,b) 3, (Ġ,a) 2 -> merge a a.
  // Then: aa a b | Ġ aa a b | Ġ aa b: (aa,a) 2, (a,b) 2, (Ġ,aa) 2, (aa,b) 1 -> the first in byte order, (a,b).
  const std::string corpus = dir.write("corpus.txt", "aaab aaab aab\n");
  BpeTrainOptions options;
  options.merges = 5;
  options.min_frequency = 2;
  train_bpe({corpus}, options, dir.path("vocab.json"), dir.path("merges.txt"));
  // Third: aa ab | Ġ aa ab | Ġ aa b: (aa,ab) 2, (Ġ,aa) 2, (aa,b) 1 -> (aa,ab), "aa" before "Ġ" in byte order.
  // Fourth: aaab | Ġ aaab | Ġ aa b: every pair once, below min_frequency: done.
  EXPECT_EQ(testing::read_text(dir.path("merges.txt")), "#version: 0.2\na a\na b\naa ab\n");
  const Gpt2Bpe trained = Gpt2Bpe::load(dir.path("vocab.json"), dir.path("merges.txt"));
  EXPECT_EQ(trained.vocabulary_size(), 256 + 3 + 1);
  EXPECT_EQ(trained.token(256), "aa");
  EXPECT_EQ(trained.token(258), "aaab");
  EXPECT_EQ(trained.token(259), "<|endoftext|>");
  EXPECT_EQ(trained.token(0), "!");           // GPT-2's id order: the printable bytes first,
  EXPECT_EQ(trained.token(220), "\xc4\xa0");  // then the others: the space is the 33rd
  // "aaab" -> aa a b -> aa ab -> aaab; " aab" -> Ġ aa b (no rank for (Ġ,aa) or (aa,b)).
  EXPECT_EQ(trained.encode("aaab aab"), (std::vector<int64_t>{258, 220, 256, 'b' - '!'}));
}

TEST(Gpt2Bpe, MalformedFilesAreNamed) {
  ScratchDir dir("bpe_bad");
  std::string full;
  {
    nlohmann::json v = nlohmann::json::object();
    for (const auto& [token, id] : byte_vocabulary({})) v[token] = id;
    full = v.dump();
  }
  const std::string vocab = dir.write("vocab.json", full);
  EXPECT_QN_ERROR(Gpt2Bpe::load(dir.write("broken.json", "{\"a\": 1,"), dir.write("m.txt", "#version: 0.2\n")),
                  "Gpt2Bpe", "broken.json' is not valid JSON");
  EXPECT_QN_ERROR(Gpt2Bpe::load(dir.write("ids.json", "{\"a\": -1}"), dir.path("m.txt")), "Gpt2Bpe",
                  "token \"a\" has id -1");
  EXPECT_QN_ERROR(Gpt2Bpe::load(dir.write("few.json", "{\"a\": 0}"), dir.path("m.txt")), "Gpt2Bpe",
                  "lacks the byte symbol");
  EXPECT_QN_ERROR(Gpt2Bpe::load(vocab, dir.write("bad.txt", "#version: 0.2\na b\nab\n")), "Gpt2Bpe",
                  "bad.txt' merge 3: expected \"A B\"");
  EXPECT_QN_ERROR(Gpt2Bpe::load_tokenizer_json(dir.write("tok.json", "{\"model\": {\"type\": \"WordPiece\"}}")),
                  "Gpt2Bpe", "not a tokenizer.json with a BPE model");
  const Gpt2Bpe from_tokenizer = Gpt2Bpe::load_tokenizer_json(
      dir.write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": " + full + ", \"merges\": [\"a b\"]}}"));
  EXPECT_EQ(from_tokenizer.vocabulary_size(), 256);
}

}  // namespace
}  // namespace qn::data
