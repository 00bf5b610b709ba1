// GPT-2 BPE vocabularies. An input with a NUL byte is vocab.json, NUL, merges.txt (valid JSON text holds no raw
// NUL); one without is a Hugging Face tokenizer.json. Each loaded tokenizer encodes and decodes a text.
#include <algorithm>

#include "data/gpt2_bpe.h"
#include "tests/fuzz/fuzz_input.h"

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
