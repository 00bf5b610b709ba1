// What the model tests ask of a module's parameters: how many values they hold, and whether a name is
// among them.
#pragma once

#include <string>

#include "nn/module.h"

namespace qn::testing {

inline int64_t parameter_count(const nn::Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

inline bool has_parameter(const nn::Module& m, const std::string& name) {
  for (const NamedTensor& p : m.named_parameters()) {
    if (p.name == name) return true;
  }
  return false;
}

}  // namespace qn::testing
