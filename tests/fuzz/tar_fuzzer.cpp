// Tar archives, plain or gzipped (image data sets ship as them).
#include <cstdio>

#include "data/tar_archive.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qn::fuzz::input_file({data, size});
  qn::fuzz::refuse_cleanly([&] {
    const qn::data::TarArchive archive = qn::data::TarArchive::read(path);
    uint64_t sum = 0;
    for (const qn::data::TarMember& member : archive.members()) {
      for (const uint8_t byte : archive.bytes(member)) sum += byte;
    }
    if (sum == 1) std::printf(" ");  // keeps the reads
  });
  return 0;
}
