// Atomic writes and what a killed writer leaves: temporaries to remove, a log's half-written last line.
#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/reference.h"

namespace qn {
namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qn_atomic_file_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static void write(const std::string& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
  fs::path dir_;
};

TEST_F(AtomicFile, AFailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  write_file_atomically(path("a.bin"), [&](std::FILE* f) { write_bytes(f, "old", 3, path("a.bin")); });
  EXPECT_THROW(write_file_atomically(path("a.bin"),
                                     [&](std::FILE* f) {
                                       write_bytes(f, "new", 3, path("a.bin"));
                                       throw_error("test", "interrupted");
                                     }),
               Error);
  EXPECT_EQ(read(path("a.bin")), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

// What kill -9 inside write_file_atomically leaves: the temporary, named after the destination.
TEST_F(AtomicFile, UnfinishedWritesOfTheNamedFilesAreRemoved) {
  write(path(".checkpoint_last.safetensors.tmp.a1B2c3"), "half");
  write(path(".checkpoint_best.safetensors.tmp.Zz9yY8"), "half");
  write(path(".model.safetensors.tmp.q1w2e3"), "someone else's");
  write(path("checkpoint_last.safetensors"), "whole");
  EXPECT_EQ(remove_unfinished_writes(dir_.string(), "checkpoint"), 2);
  EXPECT_TRUE(fs::exists(path("checkpoint_last.safetensors")));
  EXPECT_TRUE(fs::exists(path(".model.safetensors.tmp.q1w2e3")));
  EXPECT_EQ(remove_unfinished_writes(dir_.string(), "checkpoint"), 0);
  EXPECT_EQ(remove_unfinished_writes(path("missing"), "checkpoint"), 0);
}

TEST_F(AtomicFile, AnUnfinishedLastLineIsDropped) {
  const std::string log = path("train_log.jsonl");
  write(log, "{\"a\": 1}\n{\"b\": 2}\n{\"c\": ");
  EXPECT_TRUE(drop_unfinished_last_line(log));
  EXPECT_EQ(read(log), "{\"a\": 1}\n{\"b\": 2}\n");
  EXPECT_FALSE(drop_unfinished_last_line(log));  // whole lines stay
  EXPECT_EQ(read(log), "{\"a\": 1}\n{\"b\": 2}\n");
  // The last newline thousands of bytes before the end (several blocks back), and none at all.
  write(log, "{\"a\": 1}\n" + std::string(10000, 'x'));
  EXPECT_TRUE(drop_unfinished_last_line(log));
  EXPECT_EQ(read(log), "{\"a\": 1}\n");
  write(log, std::string(5000, 'x'));
  EXPECT_TRUE(drop_unfinished_last_line(log));
  EXPECT_EQ(read(log), "");
  EXPECT_FALSE(drop_unfinished_last_line(log));
  EXPECT_FALSE(drop_unfinished_last_line(path("missing.jsonl")));
}

}  // namespace
}  // namespace qn
