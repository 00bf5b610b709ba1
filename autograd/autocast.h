// Mixed precision's autocast, as torch.autocast on CUDA: inside an AutocastGuard(bf16 or f16), the ops that gain
// most from a narrow type cast their floating inputs to it (matmul, bmm, conv2d: their GEMMs then run on 16-bit
// operands), and those that need range or precision cast theirs to f32 (softmax, log_softmax, layer_norm,
// batch_norm, attention and the losses). Everything else computes in its inputs' dtype, mixed floating dtypes
// promoting as PyTorch's do. f64 tensors are never cast. The casts are recorded (to_dtype), so parameters stay
// f32 (the master weights) and their gradients arrive in f32. Backward runs without autocast: each backward rule
// computes in the dtypes its forward used.
//
//   {
//     AutocastGuard autocast(DType::bf16);
//     loss = cross_entropy(model(x), targets);  // f32, from bf16 GEMMs
//   }
//   loss.backward();
#pragma once

#include <initializer_list>
#include <optional>

#include "core/tensor.h"

namespace qn {

class AutocastGuard {
 public:
  // dtype: bf16 or f16; nullopt turns autocast off inside the guard.
  explicit AutocastGuard(std::optional<DType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  std::optional<DType> previous_;
};

// The dtype autocast narrows to on this thread, nullopt when off.
std::optional<DType> autocast_dtype();

namespace autograd {

enum class AutocastPolicy { narrow, f32 };

// For the ops: whether autocast would cast any of these inputs under the policy, and the cast. An op starts with
//   if (autocasts(policy, {&a, &b})) return op(autocast(a, policy), autocast(b, policy));
bool autocasts(AutocastPolicy policy, std::initializer_list<const Tensor*> inputs);
Tensor autocast(const Tensor& x, AutocastPolicy policy);

}  // namespace autograd
}  // namespace qn
