// Tests of the CUDA backend run on a machine with a GPU; elsewhere each skips with one line saying why.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "core/tensor.h"
#include "tests/reference.h"

namespace qn::testing {

// Why cuda:0 cannot be used here, or empty when it can.
inline std::string cuda_unavailable_reason() {
  try {
    cuda::require_device(0);
    return {};
  } catch (const Error& e) {
    return e.what();
  }
}

// A GPU result, read back, against the CPU's on the same inputs: integers exactly; f32 within f32_rtol relative
// plus f32_atol (the backends sum in different orders); f64 within 1e-12 relative plus 1e-14.
inline void expect_matches_cpu(const Tensor& gpu_result, const Tensor& cpu_result, double f32_rtol = 1e-5,
                               double f32_atol = 1e-7) {
  ASSERT_TRUE(gpu_result.device().is_cuda()) << gpu_result.describe();
  ASSERT_EQ(gpu_result.dtype(), cpu_result.dtype());
  const bool exact = !is_floating(cpu_result.dtype());
  const bool f64 = cpu_result.dtype() == DType::f64;
  expect_all_close(
      gpu_result.to(Device::cpu()), cpu_result.shape(), [&](const Index& idx) { return at(cpu_result, idx); },
      exact ? 0.0 : (f64 ? 1e-12 : f32_rtol), exact ? 0.0 : (f64 ? 1e-14 : f32_atol));
}

}  // namespace qn::testing

#define QN_REQUIRE_CUDA()                                                                             \
  do {                                                                                                \
    if (const std::string qn_reason_ = ::qn::testing::cuda_unavailable_reason(); !qn_reason_.empty()) \
      GTEST_SKIP() << qn_reason_;                                                                     \
  } while (0)
