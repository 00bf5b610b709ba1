// Runs the qn binary (its path in QN_BINARY) from a test, in a fresh temporary directory per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace qn::testing {

class QnBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        std::filesystem::temp_directory_path() / ("qn_" + std::string(test->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs qn with the arguments; returns the exit status and keeps stdout and stderr.
  int qn(const std::string& arguments) {
    const std::string command =
        std::string(QN_BINARY) + " " + arguments + " >" + path("stdout") + " 2>" + path("stderr");
    const int status = std::system(command.c_str());
    stdout_ = read_text(path("stdout"));
    stderr_ = read_text(path("stderr"));
    return status;
  }

  static std::string read_text(const std::string& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path dir_;
  std::string stdout_, stderr_;
};

}  // namespace qn::testing
