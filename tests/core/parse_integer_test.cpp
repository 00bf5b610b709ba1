// parse_integer: whole-string decimal numbers, nothing lenient.
#include "core/parse_integer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace qn {
namespace {

TEST(ParseInteger, TakesWholeDecimalNumbersThatFit) {
  EXPECT_EQ(parse_integer<int>("12"), 12);
  EXPECT_EQ(parse_integer<int>("-7"), -7);
  EXPECT_EQ(parse_integer<int>("007"), 7);
  EXPECT_EQ(parse_integer<uint64_t>("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_integer<int64_t>("-9223372036854775808"), INT64_MIN);
}

TEST(ParseInteger, RefusesAnythingElse) {
  for (const char* text : {"", " 12", "12 ", "+1", "12x", "0x10", "1e3", "1.5", "-"}) {
    EXPECT_EQ(parse_integer<int>(text), std::nullopt) << '"' << text << '"';
  }
  EXPECT_EQ(parse_integer<uint64_t>("-1"), std::nullopt);                    // no sign for an unsigned type
  EXPECT_EQ(parse_integer<uint64_t>("18446744073709551616"), std::nullopt);  // 2^64
  EXPECT_EQ(parse_integer<int>("2147483648"), std::nullopt);                 // 2^31
  EXPECT_EQ(parse_integer<int>(std::string_view("12\0", 3)), std::nullopt);  // a NUL is a character
}

}  // namespace
}  // namespace qn
