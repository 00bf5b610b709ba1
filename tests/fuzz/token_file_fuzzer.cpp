// Binarized token files (`qn preprocess` output), opened as the language-model loaders open them and read
// through: every token, every line's bounds, and the whole stream as one tensor.
#include <cstdlib>

#include "data/token_file.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
// Seeds: 16-bit and 32-bit tokens, and a file of no lines.
void write_seeds(const std::string& folder) {
  using qn::data::write_token_file;
  write_token_file(folder + "/narrow.qntok", 1000, {4, 17, 999, 2, 5, 2, 31, 31, 2}, {4, 6, 9});
  write_token_file(folder + "/wide.qntok", 70000, {69999, 2, 65536, 7, 2}, {2, 5});
  write_token_file(folder + "/empty.qntok", 4, {}, {});
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qn::fuzz::answer_seed_request(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qn::fuzz::input_file({data, size});
  qn::fuzz::refuse_cleanly([&] {
    const qn::data::TokenFile file(path);
    for (int64_t i = 0; i < file.size(); ++i) {
      if (file.token(i) >= file.vocabulary_size()) std::abort();  // opening promised every token is below it
    }
    for (int64_t line = 0; line < file.lines(); ++line) {
      if (file.line_begin(line) > file.line_end(line) || file.line_end(line) > file.size()) std::abort();
    }
    file.slice(0, file.size());
  });
  return 0;
}
