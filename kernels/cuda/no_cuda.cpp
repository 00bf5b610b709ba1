// A build without CUDA: the CUDA kernels' symbols, each refusing. Tensors cannot be allocated on a GPU in such a
// build (core/cuda_memory.cpp), so the kernels' device dispatch never calls these.
#include "core/error.h"
#include "kernels/cuda/cuda_kernels.h"

namespace qn::kernels::cuda {
namespace {

[[noreturn]] void no_cuda(const char* op) {
  throw_error(op, "this build has no CUDA kernels (configure with QN_CUDA=ON)");
}

}  // namespace

void unary(UnaryOp op, const Tensor&, Tensor&) { no_cuda(op_name(op)); }
void binary(BinaryOp op, const Tensor&, const Tensor&, Tensor&) { no_cuda(op_name(op)); }
void add_scaled(const Tensor&, const Tensor&, double, Tensor&) { no_cuda("add_scaled"); }
void compare(CompareOp op, const Tensor&, const Tensor&, Tensor&) { no_cuda(op_name(op)); }
void clamp(const Tensor&, std::optional<double>, std::optional<double>, Tensor&) { no_cuda("clamp"); }
void where(const Tensor&, const Tensor&, const Tensor&, Tensor&) { no_cuda("where"); }
void masked_scale(const Tensor&, const Tensor&, double, Tensor&) { no_cuda("masked_scale"); }
void reduce(cpu::Reduction, const Tensor&, const std::vector<bool>&, Tensor&) { no_cuda("reduce"); }
void argmax(const Tensor&, int, Tensor&) { no_cuda("argmax"); }
void softmax(const Tensor&, int, bool, Tensor&) { no_cuda("softmax"); }
void layer_norm(const Tensor&, int64_t, int64_t, const Tensor&, const Tensor&, double, Tensor&, Tensor&, Tensor&) {
  no_cuda("layer_norm");
}
void nll_with_smoothing(const Tensor&, const Tensor&, std::optional<int64_t>, double, Tensor&) {
  no_cuda("cross_entropy");
}
void cross_entropy_backward(const Tensor&, const Tensor&, const Tensor&, std::optional<int64_t>, double, Tensor&) {
  no_cuda("cross_entropy_backward");
}
void index_select(const Tensor&, int, const Tensor&, Tensor&) { no_cuda("index_select"); }
void gather(const Tensor&, int, const Tensor&, Tensor&) { no_cuda("gather"); }
void scatter_add(int, const Tensor&, const Tensor&, Tensor&) { no_cuda("scatter_add"); }
void index_add(int, const Tensor&, const Tensor&, Tensor&, bool) { no_cuda("index_add"); }
void max_pool2d(const Tensor&, const Pool2dParams&, Tensor&, Tensor&) { no_cuda("max_pool2d"); }
void avg_pool2d(const Tensor&, const Pool2dParams&, Tensor&) { no_cuda("avg_pool2d"); }
void adaptive_avg_pool2d(const Tensor&, Tensor&) { no_cuda("adaptive_avg_pool2d"); }
void max_pool2d_backward(const Tensor&, const Tensor&, Tensor&) { no_cuda("max_pool2d_backward"); }
void avg_pool2d_backward(const Tensor&, const Pool2dParams&, Tensor&) { no_cuda("avg_pool2d_backward"); }
void adaptive_avg_pool2d_backward(const Tensor&, Tensor&) { no_cuda("adaptive_avg_pool2d_backward"); }
void batch_norm_moments(const Tensor&, Tensor&, Tensor&) { no_cuda("batch_norm"); }
void batch_norm_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&) {
  no_cuda("batch_norm");
}
void batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool, Tensor&,
                         Tensor&, Tensor&) {
  no_cuda("batch_norm");
}
void conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&, Tensor&) { no_cuda("conv2d"); }
void conv2d_backward_input(const Tensor&, const Tensor&, const Conv2dParams&, Tensor&) {
  no_cuda("conv2d_backward_input");
}
void conv2d_backward_weight(const Tensor&, const Tensor&, const Conv2dParams&, Tensor&) {
  no_cuda("conv2d_backward_weight");
}
void scalar_quant_noise(const Tensor&, const QParams&, const Tensor&, double, Tensor&, Tensor&) {
  no_cuda("scalar_quant_noise");
}
void matmul(const Tensor&, const Tensor&, Tensor&) { no_cuda("matmul"); }

void adam_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const AdamStep&) { no_cuda("adam_step"); }
void sgd_step(const Tensor&, const Tensor&, const Tensor&, const SgdStep&) { no_cuda("sgd_step"); }
void nag_step(const Tensor&, const Tensor&, const Tensor&, const NagStep&) { no_cuda("nag_step"); }
void rmsprop_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const RmsPropStep&) {
  no_cuda("rmsprop_step");
}

}  // namespace qn::kernels::cuda
