// fairseq dict.txt files: loaded, then a sentence encoded through them and every symbol read back.
#include <fstream>
#include <string>

#include "data/dictionary.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
// Seeds the engine writes: a dictionary built from a sentence and saved, as `qn preprocess` saves one; and one
// with a "#fairseq:overwrite" line.
void write_seeds(const std::string& folder) {
  qn::data::Dictionary dictionary;
  for (const char* word : {"the", "quick", "brown", "fox", "the", "over", "the", "fox", "13", ","}) {
    dictionary.add_symbol(word);
  }
  dictionary.finalize();
  dictionary.save(folder + "/dict.txt");
  std::ofstream(folder + "/overwrite.txt") << "the 10\nfox 3\nthe 2 #fairseq:overwrite\n";
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qn::fuzz::answer_seed_request(write_seeds);
  return 0;
}

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
