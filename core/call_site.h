// Where a function was called from, taken as a defaulted argument: `void f(CallSite site = {})` records its
// caller's file, line and function. (std::source_location does this too, but clang 14's libstdc++ lacks it.)
#pragma once

namespace qn {

struct CallSite {
  const char* file;
  int line;
  const char* function;
  constexpr CallSite(const char* caller_file = __builtin_FILE(), int caller_line = __builtin_LINE(),  // NOLINT
                     const char* caller_function = __builtin_FUNCTION())
      : file(caller_file), line(caller_line), function(caller_function) {}
};

}  // namespace qn
