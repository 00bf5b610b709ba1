// GLUE TSV files, read as each task's columns would be.
#include "data/glue.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qn::fuzz::input_file({data, size});
  for (const char* task : {"rte", "mrpc", "mnli", "sst2"}) {
    qn::fuzz::refuse_cleanly([&] { qn::data::read_glue_tsv(path, qn::data::glue_task(task)); });
  }
  return 0;
}
