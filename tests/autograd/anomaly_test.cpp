// Anomaly detection: the first op whose output holds NaN (forward) or whose backward produces NaN or Inf
// names itself and the module of its parameter input; nothing is checked once the guard is gone.
#include "autograd/anomaly.h"

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/reference.h"

namespace qn {
namespace {

Tensor parameter(std::vector<double> values) { return from_vector<double>(values).set_requires_grad(true); }

TEST(Anomaly, ForwardNamesTheFirstOpThatMadeNaNAndItsModule) {
  const Tensor w = parameter({1.0, -1.0});
  autograd::DetectAnomaly anomaly({{"encoder.layer.weight", w}});
  EXPECT_QN_ERROR(log(w), "anomaly", "log in module 'encoder.layer' produced NaN");
  EXPECT_QN_ERROR(log(w), "anomaly", "from inputs without NaN");
  // Downstream of a NaN the inputs are said to be bad already; -inf is a value forward may hold.
  const Tensor x = parameter({0.0, 1.0});
  EXPECT_NO_THROW(log(x));
  const Tensor nan = from_vector<double>({std::nan(""), 1.0});
  EXPECT_QN_ERROR(mul(x, nan), "anomaly", "its inputs holding NaN already");
}

TEST(Anomaly, BackwardNamesTheFirstRuleThatMadeInfOrNaN) {
  const Tensor w = parameter({0.0, 4.0});
  autograd::DetectAnomaly anomaly({{"decoder.fc1.weight", w}});
  const Tensor y = sum(mul(sqrt(w), 3.0));  // sqrt's gradient 1 / (2 sqrt(0)) is Inf
  EXPECT_QN_ERROR(y.backward(), "anomaly",
                  "the backward of sqrt in module 'decoder.fc1' produced Inf in the gradient for its input 0");
  EXPECT_QN_ERROR(sum(mul(sqrt(w), 3.0)).backward(), "anomaly", "from a finite output gradient");
}

TEST(Anomaly, OffWithoutTheGuard) {
  {
    const Tensor w = parameter({0.0});
    autograd::DetectAnomaly anomaly({{"m.weight", w}});
    EXPECT_TRUE(autograd::anomaly_detection_enabled());
  }
  EXPECT_FALSE(autograd::anomaly_detection_enabled());
  const Tensor w = parameter({0.0, -1.0});
  Tensor y;
  EXPECT_NO_THROW(y = sum(sqrt(w)));
  EXPECT_NO_THROW(y.backward());
  EXPECT_TRUE(std::isinf(testing::at(w.grad(), {0})));
}

}  // namespace
}  // namespace qn
