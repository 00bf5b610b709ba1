// The table of differentiable ops. One row per op (and per interesting variant): the inputs to draw
// and the function to apply. tests/autograd/gradcheck_test.cpp checks every row against finite
// differences; adding an op means adding its row here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"

namespace qn::testing {

struct InputSpec {
  enum class Values { normal, positive, away_from_zero };
  Shape shape;
  Values values = Values::normal;
  bool strided = false;  // drawn as a non-contiguous view
};

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
};

const std::vector<OpCase>& op_table();

}  // namespace qn::testing
