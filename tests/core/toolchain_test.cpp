// The compiler itself: code shapes a compiler this project builds with has been seen to get wrong.
#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace qn {
namespace {

// Two vectors made from one 32-byte constant whose high words are zero. GCC 12.2 with AVX-512 copies such a
// constant as a 256-bit integer and loads it as its low word broadcast, so the first read {1, 1, 1, 1};
// cmake/TargetDefaults.cmake keeps GCC 12 to moves of 128 bits. Not inlined, as in a function of the engine.
[[gnu::noinline]] std::array<double, 8> two_vectors_of_one_constant() {
  const std::vector<double> first{1, 1, 0, 0};
  const std::vector<double> second{1, 1, 0, 0};
  return {first[0], first[1], first[2], first[3], second[0], second[1], second[2], second[3]};
}

TEST(Toolchain, WideConstantsKeepTheirZeroHighWords) {
  EXPECT_EQ(two_vectors_of_one_constant(), (std::array<double, 8>{1, 1, 0, 0, 1, 1, 0, 0}));
}

}  // namespace
}  // namespace qn
