// UTF-8 for tokenizers: strict decoding (overlong forms, surrogates and code points past U+10FFFF are errors,
// as in Python's decoder) and encoding, and Python's notion of whitespace (str.isspace), which fairseq's
// tokenize_line and GPT-2's pre-tokenizer split on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qn::data::utf8 {

// The code point starting at text[pos] and its length in bytes, or nullopt when the bytes there are not
// valid UTF-8.
struct Decoded {
  char32_t code_point;
  int length;
};
std::optional<Decoded> decode(std::string_view text, size_t pos);

// Appends the UTF-8 encoding of a valid code point.
void append(std::string& out, char32_t code_point);

// Python's str.isspace(): ASCII \t \n \v \f \r, space, \x1c-\x1f, U+0085, U+00A0, U+1680, U+2000-U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000.
bool is_space(char32_t code_point);

// Throws naming op, where and the byte offset when text is not valid UTF-8.
void validate(std::string_view text, const char* op, const std::string& where);

}  // namespace qn::data::utf8
