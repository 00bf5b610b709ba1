// CUDA pooling against the CPU: max (with a NaN), average with and without padding counted, adaptive, and each
// backward pass (atomic adds: within 1e-6 relative). Label `cuda`.
#include "kernels/pool.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;
using testing::expect_matches_cpu;

const Device kGpu = Device::cuda(0);

TEST(CudaPool, ForwardAndBackwardMatchTheCpu) {
  QN_REQUIRE_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    Tensor x = testing::random({2, 3, 11, 13}, t, 1);
    if (t == DType::f32) x.data_ptr<float>()[20] = std::numeric_limits<float>::quiet_NaN();
    const Tensor g = x.to(kGpu);
    for (const Pool2dParams& p :
         {Pool2dParams::square(2, 2), Pool2dParams::square(3, 2, 1), Pool2dParams::square(3, 1, 1)}) {
      for (bool include_pad : {true, false}) {
        Pool2dParams q = p;
        q.count_include_pad = include_pad;
        q.ceil_mode = include_pad;  // both output-size rules
        SCOPED_TRACE(std::string(dtype_name(t)) + " k" + std::to_string(q.kernel[0]) + " s" +
                     std::to_string(q.stride[0]) + (include_pad ? " pad counted, ceil" : ""));
        const auto want = kernels::max_pool2d(x, q);
        const auto got = kernels::max_pool2d(g, q);
        expect_matches_cpu(got.out, want.out, 1e-6, 1e-7);
        expect_matches_cpu(got.indices, want.indices, 1e-6, 1e-7);
        const Tensor grad = testing::random(want.out.shape(), t, 2);
        expect_matches_cpu(kernels::max_pool2d_backward(grad.to(kGpu), got.indices, x.shape()),
                           kernels::max_pool2d_backward(grad, want.indices, x.shape()), 1e-6, 1e-7);
        const Tensor avg = kernels::avg_pool2d(x, q);
        expect_matches_cpu(kernels::avg_pool2d(g, q), avg, 1e-6, 1e-7);
        const Tensor avg_grad = testing::random(avg.shape(), t, 3);
        expect_matches_cpu(kernels::avg_pool2d_backward(avg_grad.to(kGpu), x.shape(), q),
                           kernels::avg_pool2d_backward(avg_grad, x.shape(), q), 1e-6, 1e-7);
      }
    }
    for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {4, 5}, {11, 13}}) {
      const Tensor clean = testing::random({2, 3, 11, 13}, t, 4);
      expect_matches_cpu(kernels::adaptive_avg_pool2d(clean.to(kGpu), h, w), kernels::adaptive_avg_pool2d(clean, h, w),
                         1e-6, 1e-7);
      const Tensor grad = testing::random({2, 3, h, w}, t, 5);
      expect_matches_cpu(kernels::adaptive_avg_pool2d_backward(grad.to(kGpu), clean.shape()),
                         kernels::adaptive_avg_pool2d_backward(grad, clean.shape()), 1e-6, 1e-7);
    }
  }
}

}  // namespace
}  // namespace qn
