// Runs tests/parity/torch_reference.py (Debian's python3-torch, as /usr/bin/python3) on a spec and input
// tensors, and returns the tensors it wrote. Shared by every parity suite.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/safetensors.h"

namespace qn::testing {

// mode: "ops", "modules", "optim" or "mlp" (see torch_reference.py). The spec is omitted for "mlp".
SafetensorsContent run_torch_reference(const std::string& mode, const nlohmann::json& spec,
                                       const std::vector<NamedTensor>& inputs);

}  // namespace qn::testing
