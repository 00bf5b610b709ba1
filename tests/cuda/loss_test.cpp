// CUDA cross-entropy against the CPU: with and without label smoothing and an ignored target, forward losses and
// the backward pass, a vocabulary-sized row; a label outside the classes is refused before any kernel runs.
#include "kernels/loss.h"

#include <gtest/gtest.h>

#include "core/generator.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;
using testing::expect_matches_cpu;

const Device kGpu = Device::cuda(0);

TEST(CudaLoss, CrossEntropyForwardAndBackward) {
  QN_REQUIRE_CUDA();
  Generator gen(1);
  for (DType t : {DType::f32, DType::f64}) {
    for (int64_t classes : {10, 5000}) {
      const Tensor logits = testing::random({13, classes}, t, 2);
      Tensor targets = randint(0, classes, {13}, DType::i64, &gen);
      targets.data_ptr<int64_t>()[4] = -100;
      const Tensor weights = testing::random({13}, t, 3);
      for (double smoothing : {0.0, 0.1}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " C " + std::to_string(classes) + " s " + std::to_string(smoothing));
        const auto want = kernels::cross_entropy(logits, targets, -100, smoothing);
        const auto got = kernels::cross_entropy(logits.to(kGpu), targets.to(kGpu), -100, smoothing);
        EXPECT_EQ(got.valid_count, want.valid_count);
        expect_matches_cpu(got.losses, want.losses);
        expect_matches_cpu(got.log_probs, want.log_probs);
        expect_matches_cpu(
            kernels::cross_entropy_backward(got.log_probs, targets.to(kGpu), weights.to(kGpu), -100, smoothing),
            kernels::cross_entropy_backward(want.log_probs, targets, weights, -100, smoothing));
      }
    }
  }
  const Tensor bad = from_vector<int64_t>({1, 10}, {2});
  EXPECT_QN_ERROR(kernels::cross_entropy(testing::random({2, 10}).to(kGpu), bad.to(kGpu), std::nullopt, 0.0),
                  "target 10 at position 1 is not a class");
}

}  // namespace
}  // namespace qn
