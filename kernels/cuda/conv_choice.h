// Which of cuDNN's ranked algorithms a convolution runs (kernels/cuda/conv.cpp): a rule of its own, so that it is
// tested without a GPU (tests/cuda/conv_test.cpp).
#pragma once

#include <cudnn.h>

#include <cstddef>
#include <optional>
#include <vector>

namespace qn::kernels::cuda {

struct ConvChoice {
  int algo = 0;
  size_t workspace = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;  // set on the descriptor before the call, as the entry was ranked
};

// Tensor-core math rounds f32 operands to TF32's 10-bit mantissa.
inline bool uses_tensor_cores(cudnnMathType_t math) {
  return math == CUDNN_TENSOR_OP_MATH || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

// The first entry that succeeded, needs at most max_workspace bytes and, when exact_f32 (f32 without TF32 allowed),
// does not use tensor cores (and then runs with FMA math, never the default math, which may round to TF32);
// deterministic entries first, and only those when deterministic_only (kernels/determinism.h). nullopt when none
// qualifies. Perf is any of cuDNN's cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t.
template <class Perf>
std::optional<ConvChoice> choose_algorithm(const std::vector<Perf>& ranked, size_t max_workspace, bool exact_f32,
                                           bool deterministic_only = false) {
  for (bool deterministic_pass : {true, false}) {
    if (!deterministic_pass && deterministic_only) break;
    for (const Perf& perf : ranked) {
      if (perf.status != CUDNN_STATUS_SUCCESS || perf.memory > max_workspace) continue;
      if (exact_f32 && uses_tensor_cores(perf.mathType)) continue;
      if (deterministic_pass && perf.determinism != CUDNN_DETERMINISTIC) continue;
      // Exact f32 runs with FMA math: on Ampere and later, cuDNN's default math may use TF32 itself.
      const cudnnMathType_t math = exact_f32 && perf.mathType == CUDNN_DEFAULT_MATH ? CUDNN_FMA_MATH : perf.mathType;
      return ConvChoice{static_cast<int>(perf.algo), perf.memory, math};
    }
  }
  return std::nullopt;
}

}  // namespace qn::kernels::cuda
