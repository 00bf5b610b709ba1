// qn replaces OpenBLAS's fallback kernels (tools/qn/blas_core.h). OpenBLAS picks its kernels as it loads, so the
// test tells qn which core OpenBLAS "detected" (QN_BLAS_CORE_AS_DETECTED): qn must then run itself again with
// OPENBLAS_CORETYPE=Haswell, which OpenBLAS really uses, and say so; a core the user set is kept, even an old one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "tests/qn_binary.h"

namespace qn::testing {
namespace {

// Sets (or with nullopt, unsets) an environment variable for the test's scope.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name); old != nullptr) old_ = old;
    value ? setenv(name, value->c_str(), 1) : unsetenv(name);
  }
  ~ScopedVariable() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }
  ScopedVariable(const ScopedVariable&) = delete;
  ScopedVariable& operator=(const ScopedVariable&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(QnBinary, ReplacesOpenBlasFallbackKernelsWithHaswell) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2 and FMA here";
  {
    const ScopedVariable unset("OPENBLAS_CORETYPE", std::nullopt);
    const ScopedVariable detected("QN_BLAS_CORE_AS_DETECTED", "Prescott");
    ASSERT_EQ(qn("info"), 0) << stderr_;
    EXPECT_TRUE(contains(stdout_, "core Haswell (OPENBLAS_CORETYPE=Haswell)")) << stdout_;
    EXPECT_TRUE(contains(stdout_, "set by qn: OpenBLAS does not know this CPU and had chosen its Prescott kernels"))
        << stdout_;
  }
  {
    const ScopedVariable unset("OPENBLAS_CORETYPE", std::nullopt);
    const ScopedVariable detected("QN_BLAS_CORE_AS_DETECTED", "Zen");  // an AVX2 core: nothing to replace
    ASSERT_EQ(qn("info"), 0) << stderr_;
    EXPECT_FALSE(contains(stdout_, "set by qn")) << stdout_;
  }
  {
    const ScopedVariable user("OPENBLAS_CORETYPE", "Prescott");  // the user's choice stands, with advice
    const ScopedVariable detected("QN_BLAS_CORE_AS_DETECTED", "Prescott");
    ASSERT_EQ(qn("info"), 0) << stderr_;
    EXPECT_TRUE(contains(stdout_, "core Prescott (OPENBLAS_CORETYPE=Prescott)")) << stdout_;
    EXPECT_TRUE(contains(stdout_, "OPENBLAS_CORETYPE=Haswell makes GEMMs several times faster")) << stdout_;
    EXPECT_FALSE(contains(stdout_, "set by qn")) << stdout_;
  }
}

}  // namespace
}  // namespace qn::testing
