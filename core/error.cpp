#include "core/error.h"

namespace qn {

void throw_error(std::string_view op, const std::string& message) {
  throw Error(detail::concat("qn::", op, ": ", message));
}

}  // namespace qn
