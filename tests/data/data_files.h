// What the data tests share: a per-process scratch folder and the real data sets' folder.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace qn::data::testing {

namespace fs = std::filesystem;

// A fresh folder for this test process, removed when the fixture goes.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag)
      : dir_(fs::temp_directory_path() / ("qn_" + tag + "_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~ScratchDir() { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Writes text to name and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

 private:
  fs::path dir_;
};

// The whole file as bytes.
inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The real data sets: QN_DATA when set, else ../shared/data beside the repository (QN_SOURCE_DIR is its root).
inline fs::path shared_data() {
  if (const char* data = std::getenv("QN_DATA"); data != nullptr && *data != '\0') return data;
  return fs::path(QN_SOURCE_DIR) / ".." / "shared" / "data";
}

// The one line a test skips with when the data set `sub` (a folder of shared_data(), such as "glue/rte") is missing.
inline std::string missing_data_set(const std::string& sub) {
  return "data set '" + sub + "' missing: no " + (shared_data() / sub).string() +
         "; fetch it with: bash tools/fetch_data.sh " + sub.substr(0, sub.find('/')) +
         " (QN_DATA names the data sets' folder, ../shared/data by default)";
}

}  // namespace qn::data::testing

// In a test on a real data set (shared_data()/<sub>): data_dir names its folder, and without it the test skips with
// one line naming what is missing and where it is looked for.
#define REQUIRE_SHARED_DATA(sub)                                                       \
  const ::std::filesystem::path data_dir = ::qn::data::testing::shared_data() / (sub); \
  if (!::std::filesystem::exists(data_dir)) GTEST_SKIP() << ::qn::data::testing::missing_data_set(sub)
