// Every row of the op table against central finite differences in f64.
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "tests/autograd/op_table.h"
#include "tests/reference.h"
#include "kernels/elementwise.h"

namespace qn::testing {
namespace {

Tensor draw(const InputSpec& spec, uint64_t seed) {
  Tensor t = spec.strided ? random_strided(spec.shape, DType::f64, seed) : random(spec.shape, DType::f64, seed);
  switch (spec.values) {
    case InputSpec::Values::normal: break;
    case InputSpec::Values::positive:  // |x| + 0.5
      t = kernels::binary(kernels::BinaryOp::add, kernels::abs(t), 0.5);
      break;
    case InputSpec::Values::away_from_zero:  // x + 0.5 sign(x)
      t = kernels::add(t, kernels::binary(kernels::BinaryOp::sub,
                                          kernels::compare(kernels::CompareOp::gt, t, 0.0).to(DType::f64), 0.5));
      break;
  }
  if (spec.strided && t.is_contiguous()) t = random_strided(spec.shape, DType::f64, seed);
  t.set_requires_grad(true);
  return t;
}

class Gradcheck : public ::testing::TestWithParam<OpCase> {};

TEST_P(Gradcheck, AnalyticMatchesFiniteDifferences) {
  const OpCase& op = GetParam();
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < op.inputs.size(); ++i) inputs.push_back(draw(op.inputs[i], 10 + i));
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
