#include "tests/sim/tiny_data.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/binarize.h"
#include "data/dictionary.h"
#include "data/gpt2_bpe.h"

namespace qn::testing {
namespace {

namespace fs = std::filesystem;

// A small linear congruential stream: the data must not depend on the engine's own generator.
struct Lcg {
  uint64_t state;
  uint32_t next(uint32_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33) % bound;
  }
};

const std::vector<std::string> kWords = {
    "the",   "a",     "model", "noise", "weight", "block",  "code",   "train", "small", "large", "fast",  "slow",
    "layer", "input", "word",  "image", "token",  "learns", "stores", "reads", "runs",  "keeps", "drops", "finds",
    "good",  "bad",   "of",    "in",    "on",     "with",   "and",    "from",  "every", "each",  "one",   "two"};

// `lines` sentences of 6 to 14 words.
std::vector<std::string> sentences(uint64_t seed, int lines) {
  Lcg lcg{seed};
  std::vector<std::string> out;
  for (int i = 0; i < lines; ++i) {
    std::string line;
    const uint32_t words = 6 + lcg.next(9);
    for (uint32_t w = 0; w < words; ++w) line += (w ? " " : "") + kWords[lcg.next(kWords.size())];
    out.push_back(line);
  }
  return out;
}

std::string write_lines(const fs::path& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const std::string& line : lines) out << line << "\n";
  return path.string();
}

void put_be32(std::ofstream& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                         static_cast<char>(v)};
  out.write(bytes, 4);
}

// `count` 28x28 images of class label % 10: a bright bar whose row and column the class sets, over noise.
void write_idx_images(const fs::path& dir, const std::string& prefix, int count, uint64_t seed) {
  Lcg lcg{seed};
  std::ofstream images(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream labels(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  put_be32(images, 0x803);
  put_be32(images, static_cast<uint32_t>(count));
  put_be32(images, 28);
  put_be32(images, 28);
  put_be32(labels, 0x801);
  put_be32(labels, static_cast<uint32_t>(count));
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(lcg.next(10));
    labels.put(static_cast<char>(label));
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const bool bar = y / 3 == label || x / 3 == 9 - label;
        images.put(static_cast<char>((bar ? 160 : 0) + lcg.next(64)));
      }
    }
  }
}

}  // namespace

TinyData write_tiny_data(const std::string& root) {
  const fs::path dir = root;
  TinyData out{(dir / "text").string(), (dir / "bpe").string(), (dir / "glue" / "SST-2").string(),
               (dir / "images").string()};
  for (const std::string& d : {out.text, out.bpe, out.glue, out.images}) fs::create_directories(d);

  // Text: fairseq-preprocess's folder.
  const std::string train = write_lines(dir / "train.txt", sentences(1, 240));
  const std::string valid = write_lines(dir / "valid.txt", sentences(2, 24));
  const std::string test = write_lines(dir / "test.txt", sentences(3, 24));
  const data::Dictionary words = data::Dictionary::build({train});
  words.save((fs::path(out.text) / "dict.txt").string());
  for (const auto& [split, path] : {std::pair{"train", train}, {"valid", valid}, {"test", test}}) {
    data::binarize_text(path, words, (fs::path(out.text) / (std::string(split) + ".tok")).string());
  }

  // GPT-2 BPE learned from the corpus, and fairseq's dict.txt over its ids.
  const fs::path bpe = out.bpe;
  data::train_bpe({train}, data::BpeTrainOptions{.merges = 60}, (bpe / "encoder.json").string(),
                  (bpe / "vocab.bpe").string());
  const data::Gpt2Bpe encoder = data::Gpt2Bpe::load((bpe / "encoder.json").string(), (bpe / "vocab.bpe").string());
  data::bpe_encode_text(train, encoder, (dir / "train.bpe").string());
  data::Dictionary::build({(dir / "train.bpe").string()}).save((bpe / "dict.txt").string());

  // SST-2: a sentence is positive when it says "good" more often than "bad".
  for (const auto& [file, seed, lines] : {std::tuple{"train.tsv", 4, 96}, std::tuple{"dev.tsv", 5, 32}}) {
    std::vector<std::string> rows = {"sentence\tlabel"};
    for (const std::string& s : sentences(static_cast<uint64_t>(seed), lines)) {
      int score = 0;
      for (size_t at = s.find("good"); at != std::string::npos; at = s.find("good", at + 1)) ++score;
      for (size_t at = s.find("bad"); at != std::string::npos; at = s.find("bad", at + 1)) --score;
      rows.push_back(s + "\t" + (score > 0 ? "1" : "0"));
    }
    write_lines(fs::path(out.glue) / file, rows);
  }

  write_idx_images(out.images, "train", 256, 6);
  write_idx_images(out.images, "t10k", 64, 7);
  return out;
}

}  // namespace qn::testing
