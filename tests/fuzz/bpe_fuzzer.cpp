// GPT-2 BPE vocabularies. An input with a NUL byte is vocab.json, NUL, merges.txt (valid JSON text holds no raw
// NUL); one without is a Hugging Face tokenizer.json. Each loaded tokenizer encodes and decodes a text.
#include <algorithm>
#include <fstream>
#include <string>

#include "data/gpt2_bpe.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
// Seeds in both input forms: a vocab.json and merges.txt pair (split by a NUL byte) and a tokenizer.json, over a few
// byte-level tokens ('\u0120' is GPT-2's space).
void write_seeds(const std::string& folder) {
  const std::string vocab =
      R"({"H": 0, "e": 1, "l": 2, "o": 3, "\u0120": 4, "w": 5, "r": 6, "d": 7, "ll": 8, "He": 9})";
  const std::string merges = "#version: 0.2\nl l\nH e\n";
  std::ofstream(folder + "/pair.bin", std::ios::binary) << vocab << std::string(1, '\0') << merges;
  std::ofstream(folder + "/tokenizer.json")
      << R"({"model": {"type": "BPE", "vocab": )" << vocab << R"(, "merges": ["l l", "H e"]}})";
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qn::fuzz::answer_seed_request(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using qn::data::Gpt2Bpe;
  const std::span<const uint8_t> bytes(data, size);
  const auto nul = std::find(bytes.begin(), bytes.end(), uint8_t{0});
  qn::fuzz::refuse_cleanly([&] {
    const Gpt2Bpe bpe = [&] {
      if (nul == bytes.end()) return Gpt2Bpe::load_tokenizer_json(qn::fuzz::input_file(bytes, ".json"));
      const auto split = static_cast<size_t>(nul - bytes.begin());
      const std::string& vocab = qn::fuzz::input_file(bytes.first(split), ".vocab.json");
      const std::string& merges = qn::fuzz::input_file(bytes.subspan(split + 1), ".merges.txt");
      return Gpt2Bpe::load(vocab, merges);
    }();
    const std::vector<int64_t> ids = bpe.encode("Hello world, it's 2026!\n  Ünïcödé \xF0\x9F\x98\x80 tabs\tand lower");
    bpe.decode(ids);
    for (const int64_t id : ids) bpe.token(id);
  });
  return 0;
}
