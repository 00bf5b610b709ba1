// A CUDA build without cuDNN: convolutions on a GPU refuse, naming what is missing.
#include "core/error.h"
#include "kernels/cuda/cuda_kernels.h"

namespace qn::kernels::cuda {
namespace {

[[noreturn]] void no_cudnn(const char* op) {
  throw_error(op, "convolutions on a GPU need cuDNN, which this build did not find (install it and reconfigure)");
}

}  // namespace

void conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&, Tensor&) { no_cudnn("conv2d"); }
void conv2d_backward_input(const Tensor&, const Tensor&, const Conv2dParams&, Tensor&) {
  no_cudnn("conv2d_backward_input");
}
void conv2d_backward_weight(const Tensor&, const Tensor&, const Conv2dParams&, Tensor&) {
  no_cudnn("conv2d_backward_weight");
}

}  // namespace qn::kernels::cuda
