// GLUE TSV files, read as each task's columns would be.
#include <fstream>
#include <string>

#include "data/glue.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
// Seeds in the layouts of the tasks' files: RTE's and MRPC's (with its byte-order mark), and SST-2's.
void write_seeds(const std::string& folder) {
  std::ofstream(folder + "/rte.tsv") << "index\tsentence1\tsentence2\tlabel\n"
                                        "0\tA cat sat.\tAn animal sat.\tentailment\n"
                                        "1\tIt rained \"all\" day.\tThe sun shone.\tnot_entailment\n";
  std::ofstream(folder + "/mrpc.tsv") << "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                                         "1\t702876\t702977\tHe said so.\tSo he said.\n";
  std::ofstream(folder + "/sst2.tsv") << "sentence\tlabel\na fine film \t1\ndull \t0\n";
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qn::fuzz::answer_seed_request(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qn::fuzz::input_file({data, size});
  for (const char* task : {"rte", "mrpc", "mnli", "sst2"}) {
    qn::fuzz::refuse_cleanly([&] { qn::data::read_glue_tsv(path, qn::data::glue_task(task)); });
  }
  return 0;
}
