// qn::Error and QN_CHECK: every public entry point validates its arguments and says, in one message,
// which operation failed, on what shapes/dtypes/devices, and what it expected.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace qn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Throws qn::Error("qn::<op>: <message>").
[[noreturn]] void throw_error(std::string_view op, const std::string& message);

}  // namespace qn

// QN_CHECK(cond, "matmul", "expected ", a.shape(), " ..."): the message parts are streamed together.
#define QN_CHECK(cond, op, ...)                                   \
  do {                                                            \
    if (!(cond)) [[unlikely]]                                     \
      ::qn::throw_error((op), ::qn::detail::concat(__VA_ARGS__)); \
  } while (0)
