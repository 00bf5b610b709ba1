// IDX files (MNIST), plain or gzipped.
#include <fstream>
#include <string>

#include "data/idx.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
// Seeds from the format's definition: two 3x4 images and their labels, as MNIST lays them out (big-endian sizes).
void write_seeds(const std::string& folder) {
  const std::string images(
      "\0\0\x08\x03\0\0\0\x02\0\0\0\x03\0\0\0\x04"
      "\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0"
      "\xff\xee\xdd\xcc\xbb\xaa\x99\x88\x77\x66\x55\x44",
      16 + 24);
  const std::string labels("\0\0\x08\x01\0\0\0\x02\x07\x03", 10);
  std::ofstream(folder + "/images-idx3-ubyte", std::ios::binary) << images;
  std::ofstream(folder + "/labels-idx1-ubyte", std::ios::binary) << labels;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qn::fuzz::answer_seed_request(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qn::fuzz::input_file({data, size});
  qn::fuzz::refuse_cleanly([&] {
    const qn::Tensor t = qn::data::read_idx(path);
    if (t.numel() > 0) t.to(qn::DType::f64);  // every element is there to read
  });
  return 0;
}
