// Images (JPEG, PNG, BMP, PNM) through stb_image, as data sets' loaders decode them.
#include "data/image.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qn::fuzz::refuse_cleanly([&] { qn::data::decode_image({data, size}, "fuzz input"); });
  return 0;
}
