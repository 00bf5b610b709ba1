// cuDNN convolution against the CPU's: plain, strided, padded (symmetric and TensorFlow's asymmetric 'same'),
// dilated, grouped, depthwise and 1x1, forward and both backward passes. cuDNN's algorithms (Winograd, FFT) round
// differently from im2col: f32 within 1e-4 relative, f64 within 1e-10. Label `cuda`.
#include "kernels/conv.h"

#include <gtest/gtest.h>

#include "tests/cuda/cuda_test.h"
#if __has_include(<cudnn.h>)
#include "kernels/cuda/conv_choice.h"
#endif
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

const Device kGpu = Device::cuda(0);

void expect_close(const Tensor& gpu_result, const Tensor& cpu_result) {
  ASSERT_TRUE(gpu_result.device().is_cuda());
  const double rtol = cpu_result.dtype() == DType::f64 ? 1e-10 : 1e-4;
  testing::expect_all_close(
      gpu_result.to(Device::cpu()), cpu_result.shape(), [&](const auto& idx) { return at(cpu_result, idx); }, rtol,
      rtol);
}

struct Case {
  const char* name;
  Shape input, weight;
  Conv2dParams params;
};

TEST(CudaConv, ForwardAndBackwardMatchTheCpu) {
  QN_REQUIRE_CUDA();
  const std::vector<Case> cases = {
      {"plain 3x3", {2, 3, 9, 11}, {4, 3, 3, 3}, Conv2dParams{}},
      {"stride 2, padding 1", {2, 3, 9, 11}, {4, 3, 3, 3}, Conv2dParams{}.with_stride(2).with_padding(1)},
      {"'same' asymmetric", {2, 3, 8, 8}, {5, 3, 3, 3}, Conv2dParams{}.with_stride(2).with_padding(0, 1, 0, 1)},
      {"dilated", {1, 2, 12, 12}, {3, 2, 3, 3}, Conv2dParams{}.with_dilation(2).with_padding(2)},
      {"groups 2", {2, 4, 7, 7}, {6, 2, 3, 3}, Conv2dParams{}.with_groups(2).with_padding(1)},
      {"depthwise 5x5", {2, 6, 10, 10}, {6, 1, 5, 5}, Conv2dParams{}.with_groups(6).with_padding(2)},
      {"depthwise, multiplier 2", {2, 3, 7, 7}, {6, 1, 3, 3}, Conv2dParams{}.with_groups(3).with_stride(2)},
      {"1x1", {4, 16, 5, 5}, {8, 16, 1, 1}, Conv2dParams{}},
  };
  for (DType t : {DType::f32, DType::f64}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(t)));
      const Tensor x = testing::random(c.input, t, 1), w = testing::random(c.weight, t, 2);
      const Tensor b = testing::random({c.weight[0]}, t, 3);
      const Tensor want = kernels::conv2d(x, w, b, c.params);
      expect_close(kernels::conv2d(x.to(kGpu), w.to(kGpu), b.to(kGpu), c.params), want);
      expect_close(kernels::conv2d(x.to(kGpu), w.to(kGpu), Tensor(), c.params),
                   kernels::conv2d(x, w, Tensor(), c.params));
      const Tensor grad = testing::random(want.shape(), t, 4);
      expect_close(kernels::conv2d_backward_input(grad.to(kGpu), w.to(kGpu), c.input, c.params),
                   kernels::conv2d_backward_input(grad, w, c.input, c.params));
      expect_close(kernels::conv2d_backward_weight(grad.to(kGpu), x.to(kGpu), c.weight, c.params),
                   kernels::conv2d_backward_weight(grad, x, c.weight, c.params));
    }
  }
}

#if __has_include(<cudnn.h>)
// Which ranked algorithm runs, without a GPU: exact f32 (TF32 off) passes over tensor-core entries, which would round
// the operands to TF32, and runs the one it takes with FMA math; otherwise the chosen entry's math type goes with it.
cudnnConvolutionFwdAlgoPerf_t entry(cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math,
                                    cudnnDeterminism_t determinism, size_t memory = 0,
                                    cudnnStatus_t status = CUDNN_STATUS_SUCCESS) {
  cudnnConvolutionFwdAlgoPerf_t perf{};
  perf.algo = algo;
  perf.status = status;
  perf.memory = memory;
  perf.determinism = determinism;
  perf.mathType = math;
  return perf;
}

TEST(CudnnChoice, ExactF32PassesOverTensorCoreEntries) {
  const std::vector<cudnnConvolutionFwdAlgoPerf_t> ranked = {
      entry(CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_DEFAULT_MATH, CUDNN_DETERMINISTIC, 0, CUDNN_STATUS_NOT_SUPPORTED),
      entry(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, CUDNN_DEFAULT_MATH, CUDNN_DETERMINISTIC, size_t{1} << 31),
      entry(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH, CUDNN_DETERMINISTIC, 64),
      entry(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, CUDNN_DETERMINISTIC),
      entry(CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, CUDNN_FMA_MATH, CUDNN_NON_DETERMINISTIC),
      entry(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_DEFAULT_MATH, CUDNN_DETERMINISTIC, 32),
  };
  const size_t limit = size_t{1} << 30;
  const auto exact = kernels::cuda::choose_algorithm(ranked, limit, true);
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);  // failed, too large and tensor-core entries pass
  EXPECT_EQ(exact->math, CUDNN_FMA_MATH);  // ranked with the default math, which may use TF32 on Ampere and later
  EXPECT_EQ(exact->workspace, 32u);

  const auto tf32 = kernels::cuda::choose_algorithm(ranked, limit, false);
  ASSERT_TRUE(tf32.has_value());
  EXPECT_EQ(tf32->algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
  EXPECT_EQ(tf32->math, CUDNN_TENSOR_OP_MATH);  // set on the descriptor before the call

  // Only a non-deterministic FMA entry is left: it is taken when no deterministic one qualifies.
  const std::vector<cudnnConvolutionFwdAlgoPerf_t> nondeterministic = {ranked[2], ranked[4]};
  const auto fallback = kernels::cuda::choose_algorithm(nondeterministic, limit, true);
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(fallback->algo, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT);
  EXPECT_EQ(fallback->math, CUDNN_FMA_MATH);

  EXPECT_FALSE(kernels::cuda::choose_algorithm(std::vector{ranked[2], ranked[3]}, limit, true).has_value());
  // With deterministic algorithms asked for, a non-deterministic entry never runs.
  EXPECT_FALSE(kernels::cuda::choose_algorithm(nondeterministic, limit, true, true).has_value());
  EXPECT_EQ(kernels::cuda::choose_algorithm(ranked, limit, true, true)->algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
}
#endif

}  // namespace
}  // namespace qn
