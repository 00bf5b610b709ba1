// Every row of the op table on the GPU against the same row on the CPU: forward, and the gradients of a
// random-weighted sum. f32 within the row's tolerance (the backends sum in different orders; 1e-5 relative for most
// rows), and the rows of bf16_rows() in bf16 within 1e-2 relative: each backend rounds every op's result to bf16,
// and a sum taken in another order can land one unit of bf16's last place away. Label `cuda`: skipped where no GPU
// is visible.
#include "tests/autograd/op_table.h"

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/cuda/cuda_test.h"

namespace qn::testing {
namespace {

struct RowResult {
  Tensor out;
  std::vector<Tensor> grads;
};

// The row on `device` in `dtype`: its inputs drawn on the CPU as the other tables draw them, then moved.
RowResult run_row(const OpCase& op, DType dtype, Device device) {
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    const Tensor x = draw_input(op.inputs[i], DType::f32, 100 + i).detach().to(dtype);
    inputs.push_back(x.to(device).set_requires_grad(true));
  }
  RowResult r;
  r.out = op.fn(inputs);
  Generator gen(7);
  const Tensor w = randn(r.out.shape(), DType::f32, &gen).to(r.out.dtype()).to(device);
  r.grads = grad({r.out}, inputs, {w});
  return r;
}

void expect_row_matches(const OpCase& op, DType dtype, double rtol, double atol) {
  const RowResult cpu = run_row(op, dtype, Device::cpu());
  const RowResult gpu = run_row(op, dtype, Device::cuda(0));
  ASSERT_TRUE(gpu.out.device().is_cuda());
  ASSERT_EQ(gpu.out.dtype(), cpu.out.dtype());
  const auto close = [&](const Tensor& got, const Tensor& want, const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(got.defined() && want.defined());
    expect_all_close(
        got.to(Device::cpu()), want.shape(), [&](const Index& i) { return at(want, i); }, rtol, atol);
  };
  close(gpu.out, cpu.out, "forward");
  for (size_t i = 0; i < cpu.grads.size(); ++i) {
    if (!cpu.grads[i].defined()) continue;
    close(gpu.grads[i], cpu.grads[i], "gradient of input " + std::to_string(i));
  }
}

class CudaOpTable : public ::testing::TestWithParam<OpCase> {};

TEST_P(CudaOpTable, ForwardAndGradientsMatchTheCpu) {
  QN_REQUIRE_CUDA();
  const OpCase& op = GetParam();
  {
    SCOPED_TRACE("f32");
    expect_row_matches(op, DType::f32, op.rtol, op.atol);
  }
  if (bf16_rows().contains(op.name)) {
    SCOPED_TRACE("bf16");
    expect_row_matches(op, DType::bf16, 1e-2, 1e-2);
  }
}

INSTANTIATE_TEST_SUITE_P(OpTable, CudaOpTable, ::testing::ValuesIn(op_table()),
                         [](const ::testing::TestParamInfo<OpCase>& row) { return row.param.name; });

}  // namespace
}  // namespace qn::testing
