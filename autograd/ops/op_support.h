// What every op definition in this folder uses (internal: not part of the public API).
#pragma once

#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"

namespace qn {

using autograd::needs_graph;
using autograd::record;
using autograd::SavedTensor;
using Grads = std::vector<Tensor>;  // a backward rule's result: one gradient per op input

}  // namespace qn
