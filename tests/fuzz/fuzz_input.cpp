#include "tests/fuzz/fuzz_input.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace qn::fuzz {

namespace fs = std::filesystem;

namespace {
fs::path scratch_folder() {
  const fs::path shm = "/dev/shm";
  std::error_code error;
  return fs::is_directory(shm, error) ? shm : fs::temp_directory_path();
}

// The scratch files go when the process ends normally; after a crash libFuzzer keeps the input itself.
struct ScratchFiles {
  std::map<std::string, std::string> by_suffix;
  ~ScratchFiles() {
    for (const auto& [suffix, path] : by_suffix) std::remove(path.c_str());
  }
};
}  // namespace

const std::string& input_file(std::span<const uint8_t> bytes, const std::string& suffix) {
  static ScratchFiles files;
  auto [it, added] = files.by_suffix.try_emplace(suffix);
  if (added) {
    it->second = (scratch_folder() / ("qn_fuzz_" + std::to_string(getpid()) + suffix)).string();
  }
  std::FILE* file = std::fopen(it->second.c_str(), "wb");
  if (file == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() || std::fclose(file) != 0) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", it->second.c_str());
    std::abort();
  }
  return it->second;
}

bool verbose() {
  static const bool on = std::getenv("QN_FUZZ_VERBOSE") != nullptr;
  return on;
}

void answer_seed_request(void (*write_seeds)(const std::string& folder)) {
  const char* folder = std::getenv("QN_FUZZ_WRITE_SEEDS");
  if (folder == nullptr) return;
  fs::create_directories(folder);
  if (write_seeds != nullptr) write_seeds(folder);
  std::exit(0);
}

}  // namespace qn::fuzz

// The fuzzers whose seeds all come from files (make_seeds.py) define no LLVMFuzzerInitialize and get this one.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int*, char***) {
  qn::fuzz::answer_seed_request();
  return 0;
}
