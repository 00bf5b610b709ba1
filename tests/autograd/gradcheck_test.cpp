// Every row of the op table against central finite differences in f64.
#include "autograd/gradcheck.h"

#include <gtest/gtest.h>

#include "autograd/node.h"
#include "kernels/elementwise.h"
#include "tests/autograd/op_table.h"
#include "tests/reference.h"

namespace qn::testing {
namespace {

class Gradcheck : public ::testing::TestWithParam<OpCase> {};

TEST_P(Gradcheck, AnalyticMatchesFiniteDifferences) {
  const OpCase& op = GetParam();
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < op.inputs.size(); ++i) inputs.push_back(draw_input(op.inputs[i], DType::f64, 10 + i));
  const GradcheckResult r = gradcheck(op.fn, inputs);
  EXPECT_TRUE(r.ok) << op.name << ": " << r.message;
}

INSTANTIATE_TEST_SUITE_P(OpTable, Gradcheck, ::testing::ValuesIn(op_table()),
                         [](const ::testing::TestParamInfo<OpCase>& row) { return row.param.name; });

TEST(GradcheckItself, CatchesAWrongGradient) {
  // A deliberately wrong backward (d/dx of x^2 reported as x) must be caught.
  Tensor x = random({4}, DType::f64, 3);
  x.set_requires_grad(true);
  auto wrong = [](const std::vector<Tensor>& in) {
    return autograd::record("wrong_square", kernels::mul(in[0], in[0]), {in[0]},
                            [v = in[0].detach()](const Tensor& g) { return std::vector<Tensor>{kernels::mul(g, v)}; });
  };
  EXPECT_FALSE(gradcheck(wrong, {x}).ok);
}

}  // namespace
}  // namespace qn::testing
