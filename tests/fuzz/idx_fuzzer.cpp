// IDX files (MNIST), plain or gzipped.
#include "data/idx.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qn::fuzz::input_file({data, size});
  qn::fuzz::refuse_cleanly([&] {
    const qn::Tensor t = qn::data::read_idx(path);
    if (t.numel() > 0) t.to(qn::DType::f64);  // every element is there to read
  });
  return 0;
}
