// CUDA indexing against the CPU: index_select and embedding, gather along each dim with an index smaller than x,
// scatter_add and index_add with repeated indices (atomic adds: floats within 1e-6 relative, integers exactly;
// index_add's ordered path bit for bit), and an out-of-range index refused before any kernel runs. Label `cuda`.
#include "kernels/index.h"

#include <gtest/gtest.h>

#include "core/generator.h"
#include "kernels/determinism.h"
#include "kernels/elementwise.h"
#include "tests/cuda/cuda_test.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;
using testing::expect_matches_cpu;

const Device kGpu = Device::cuda(0);

TEST(CudaIndex, SelectGatherScatterAndIndexAdd) {
  QN_REQUIRE_CUDA();
  Generator gen(1);
  for (DType index_type : {DType::i64, DType::i32}) {
    const Tensor x = testing::random({6, 9, 5}, DType::f32, 2);
    for (int dim = 0; dim < 3; ++dim) {
      SCOPED_TRACE("dim " + std::to_string(dim));
      const Tensor picks = randint(0, x.size(dim), {11}, DType::i64, &gen).to(index_type);  // repeats some
      expect_matches_cpu(kernels::index_select(x.to(kGpu), dim, picks.to(kGpu)), kernels::index_select(x, dim, picks),
                         1e-6, 1e-6);

      Shape small = {4, 7, 3};
      small[dim] = 8;
      const Tensor index = randint(0, x.size(dim), small, DType::i64, &gen).to(index_type);
      expect_matches_cpu(kernels::gather(x.to(kGpu), dim, index.to(kGpu)), kernels::gather(x, dim, index), 1e-6, 1e-6);

      for (DType t : {DType::f32, DType::f64, DType::i64, DType::i32}) {
        // Values a few units wide, so that integer dtypes get more than zeros.
        const Tensor self =
            kernels::binary(kernels::BinaryOp::mul, testing::random({6, 9, 5}, DType::f64, 3), 10.0).to(t);
        const Tensor src = kernels::binary(kernels::BinaryOp::mul, testing::random(small, DType::f64, 4), 10.0).to(t);
        expect_matches_cpu(kernels::scatter_add(self.to(kGpu), dim, index.to(kGpu), src.to(kGpu)),
                           kernels::scatter_add(self, dim, index, src), 1e-6, 1e-6);
        Shape added = self.shape();
        added[dim] = picks.numel();
        const Tensor rows = kernels::binary(kernels::BinaryOp::mul, testing::random(added, DType::f64, 5), 10.0).to(t);
        expect_matches_cpu(kernels::index_add(self.to(kGpu), dim, picks.to(kGpu), rows.to(kGpu)),
                           kernels::index_add(self, dim, picks, rows), 1e-6, 1e-6);
      }
    }
  }
  const Tensor weight = testing::random({50, 16}, DType::f32, 6);
  const Tensor tokens = randint(0, 50, {3, 7}, DType::i64, &gen);
  expect_matches_cpu(kernels::embedding(weight.to(kGpu), tokens.to(kGpu)), kernels::embedding(weight, tokens), 1e-6,
                     1e-6);
  EXPECT_QN_ERROR(kernels::index_select(weight.to(kGpu), 0, from_vector<int64_t>({3, 50}, {2}).to(kGpu)),
                  "index 50 at position 1 is out of range");
}

// With deterministic algorithms on (kernels/determinism.h), index_add sums each row's repeated indices in position
// order, as the CPU does: the results are the CPU's bit for bit, along every dim, with many repeats of few rows (an
// embedding's backward over a small vocabulary) and with an index of 32-bit integers.
TEST(CudaIndex, OrderedIndexAddIsTheCpusBitForBit) {
  QN_REQUIRE_CUDA();
  const kernels::DeterministicAlgorithmsGuard deterministic(true);
  Generator gen(7);
  for (DType index_type : {DType::i64, DType::i32}) {
    const Tensor self = testing::random({5, 7, 33}, DType::f32, 8);
    for (int dim = 0; dim < 3; ++dim) {
      SCOPED_TRACE("dim " + std::to_string(dim));
      const Tensor picks = randint(0, self.size(dim), {1000}, DType::i64, &gen).to(index_type);
      Shape added = self.shape();
      added[dim] = picks.numel();
      const Tensor rows = testing::random(added, DType::f32, 9);
      const Tensor cpu = kernels::index_add(self, dim, picks, rows);
      expect_matches_cpu(kernels::index_add(self.to(kGpu), dim, picks.to(kGpu), rows.to(kGpu)), cpu, 0, 0);
    }
  }
  const Tensor weight = testing::random({20, 64}, DType::f32, 10);
  const Tensor tokens = randint(0, 20, {4096}, DType::i64, &gen);
  const Tensor grad = testing::random({4096, 64}, DType::f32, 11);
  expect_matches_cpu(kernels::index_add(weight.to(kGpu), 0, tokens.to(kGpu), grad.to(kGpu)),
                     kernels::index_add(weight, 0, tokens, grad), 0, 0);
}

}  // namespace
}  // namespace qn
