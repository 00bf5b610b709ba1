// The table of differentiable ops. One row per op (and per interesting variant): the inputs to draw,
// the function, and the same computation in PyTorch. tests/autograd/gradcheck_test.cpp checks every row
// against finite differences in f64, tests/parity/parity_test.cpp against PyTorch in f32; adding an op
// means adding its row here.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/safetensors.h"

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
  // A Python expression over x0, x1, ... (the inputs), the constants below, torch and F
  // (torch.nn.functional) that computes the same thing.
  std::string torch;
  std::vector<NamedTensor> constants = {};
  double rtol = 1e-5;  // f32 parity tolerances
  double atol = 1e-6;
};

const std::vector<OpCase>& op_table();
// The names of the rows also checked in bf16 (against PyTorch, and on a GPU against the CPU).
const std::set<std::string>& bf16_rows();

// Lets GoogleTest name a row in its messages.
inline void PrintTo(const OpCase& op, std::ostream* out) { *out << op.name; }

// An input as spec describes it, in dtype, requiring grad.
Tensor draw_input(const InputSpec& spec, DType dtype, uint64_t seed);

}  // namespace qn::testing
