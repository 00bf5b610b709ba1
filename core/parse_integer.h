// Whole-string decimal integers, for text from outside: file fields, state keys, environment variables.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace qn {

// `text` as a T when the whole of it is a decimal number that fits: digits, after a '-' for a signed T. Otherwise
// nullopt: empty, spaces, a '+', trailing characters, overflow ("12" -> 12; "", " 12", "12x", "+1" -> nullopt).
template <class T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

}  // namespace qn
