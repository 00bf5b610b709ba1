// gradcheck: the analytic gradient of f against central finite differences, in f64.
// For an output y = f(inputs), L = sum(y * r) with r a fixed random tensor; each input element's
// dL/dx is compared with (L(x + eps) - L(x - eps)) / (2 eps) within atol + rtol * |numeric|.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qn {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatches, when not ok
};

// inputs: f64 tensors with requires_grad set (any layout). f must be deterministic.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace qn
