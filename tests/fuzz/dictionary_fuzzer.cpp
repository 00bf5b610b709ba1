// fairseq dict.txt files: loaded, then a sentence encoded through them and every symbol read back.
#include "data/dictionary.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qn::fuzz::input_file({data, size});
  qn::fuzz::refuse_cleanly([&] {
    const qn::data::Dictionary dictionary = qn::data::Dictionary::load(path);
    dictionary.encode_line("the quick  brown fox\tjumps , over 13 <unk> madeupword0000");
    for (int64_t id = 0; id < dictionary.size(); ++id) {
      if (dictionary.index(dictionary.symbol(id)) > id) std::abort();  // a word's id is its first line
      dictionary.count(id);
    }
  });
  return 0;
}
