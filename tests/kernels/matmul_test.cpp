// Matmul against a naive f64 triple loop: 1-D promotion, batch broadcasting, transposed and strided
// operands (passed to GEMM without copies), layouts GEMM cannot read, and empty dims.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include "core/allocator.h"
#include "kernels/threading.h"
#include "tests/reference.h"

namespace qn::kernels {
namespace {

using testing::at;
using testing::Index;

// Naive NumPy-semantics matmul of a and b at output index i.
double reference(const Tensor& a, const Tensor& b, const Index& i) {
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  Index full = i;
  if (a.dim() == 1) full.insert(full.end() - (b.dim() == 1 ? 0 : 1), 0);
  if (b.dim() == 1) full.push_back(0);
  const int64_t row = full[full.size() - 2];
  const int64_t col = full[full.size() - 1];
  const Index batch(full.begin(), full.end() - 2);
  double total = 0;
  for (int64_t k = 0; k < a2.size(-1); ++k) {
    Index ia = testing::broadcast_index(batch, Shape(std::span<const int64_t>(a2.shape().data(), a2.dim() - 2)));
    Index ib = testing::broadcast_index(batch, Shape(std::span<const int64_t>(b2.shape().data(), b2.dim() - 2)));
    ia.push_back(row);
    ia.push_back(k);
    ib.push_back(k);
    ib.push_back(col);
    total += at(a2, ia) * at(b2, ib);
  }
  return total;
}

void check(const Tensor& a, const Tensor& b, const Shape& expected_shape) {
  Tensor y = matmul(a, b);
  SCOPED_TRACE(a.describe() + " @ " + b.describe());
  testing::expect_all_close(
      y, expected_shape, [&](const Index& i) { return reference(a, b, i); }, a.dtype() == DType::f32 ? 1e-4 : 1e-12,
      a.dtype() == DType::f32 ? 1e-4 : 1e-12);
}

TEST(Matmul, ShapesLikeNumpy) {
  for (DType t : {DType::f32, DType::f64}) {
    check(testing::random({5, 7}, t), testing::random({7, 3}, t), {5, 3});
    check(testing::random({7}, t), testing::random({7}, t), {});
    check(testing::random({7}, t), testing::random({7, 3}, t), {3});
    check(testing::random({5, 7}, t), testing::random({7}, t), {5});
    check(testing::random({4, 5, 7}, t), testing::random({7, 3}, t), {4, 5, 3});  // folded into one GEMM
    check(testing::random({7}, t), testing::random({2, 7, 3}, t), {2, 3});
    check(testing::random({2, 1, 5, 7}, t), testing::random({3, 7, 4}, t), {2, 3, 5, 4});  // batch broadcast
    check(testing::random({1, 1}, t), testing::random({1, 1}, t), {1, 1});
  }
}

TEST(Matmul, TransposedAndStridedOperandsAreNotCopied) {
  Tensor a = testing::random({7, 5}).t();                              // (5, 7) read as a transposed GEMM operand
  Tensor b = testing::random({9, 8}).narrow(1, 2, 3).narrow(0, 1, 7);  // (7, 3) with row stride 8
  const int64_t before = host_allocator_stats().allocations;
  Tensor y = matmul(a, b);
  EXPECT_EQ(host_allocator_stats().allocations, before + 1);  // only the output
  check(a, b, {5, 3});
  Tensor batched = testing::random({3, 7, 5}).transpose(1, 2);
  check(batched, testing::random({3, 7, 2}), {3, 5, 2});
}

TEST(Matmul, LayoutsGemmCannotReadAreCopied) {
  Tensor a = testing::random({5, 14}).slice(1, 0, 14, 2);  // column stride 2
  check(a, testing::random({7, 3}), {5, 3});
  Tensor expanded = testing::random({1, 7}).expand({5, 7});  // row stride 0
  check(expanded, testing::random({7, 2}), {5, 2});
}

TEST(Matmul, EmptyDims) {
  Tensor y = matmul(testing::random({4, 0}), testing::random({0, 3}));
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
  for (const auto& i : testing::all_indices(y.shape())) EXPECT_EQ(at(y, i), 0.0);
  EXPECT_EQ(matmul(testing::random({0, 5}), testing::random({5, 3})).shape(), (Shape{0, 3}));
}

TEST(Matmul, ErrorsNameShapes) {
  EXPECT_QN_ERROR(matmul(ones({2, 3}), ones({4, 5})), "qn::matmul", "[2, 3]", "[4, 5]", "a.size(-1) == b.size(-2)");
  EXPECT_QN_ERROR(matmul(ones({2, 3}, DType::i64), ones({3, 2}, DType::i64)), "matmul", "floating");
  EXPECT_QN_ERROR(matmul(ones({2, 3}), ones({3, 2}, DType::f64)), "matmul", "one dtype");
  EXPECT_QN_ERROR(bmm(ones({2, 3}), ones({3, 2})), "bmm", "(B, M, K)");
  EXPECT_QN_ERROR(matmul(ones({2, 2, 3}), ones({3, 3, 2})), "matmul", "broadcast");
}

TEST(Matmul, ManySmallBatchesInParallel) {
  check(testing::random({64, 6, 8}), testing::random({64, 8, 5}), {64, 6, 5});
}

}  // namespace
}  // namespace qn::kernels

namespace qn::kernels {
namespace {

TEST(Threading, OpenBlasFollowsTheEngineThreadCount) {
  const int before = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(blas_info().threads, 1);
  set_num_threads(before);
  EXPECT_EQ(blas_info().threads, before);
  EXPECT_FALSE(blas_info().core.empty());
}

TEST(Threading, ReplacesOpenBlasFallbackKernelsWithHaswellOnly) {
  // OpenBLAS's fallback on an unknown CPU model with AVX2 and FMA: Haswell, even on an AVX-512 CPU (its AVX-512
  // cores fail on some CPUs it does not know).
  EXPECT_EQ(blas_core_replacement("Prescott", true), "Haswell");
  EXPECT_EQ(blas_core_replacement("Sandybridge", true), "Haswell");
  EXPECT_EQ(blas_core_replacement("Nehalem", true), "Haswell");
  // Nothing to replace: the CPU lacks AVX2 or FMA, or an AVX2 core runs (chosen, or found; any case).
  EXPECT_EQ(blas_core_replacement("Prescott", false), "");
  EXPECT_EQ(blas_core_replacement("Haswell", true), "");
  EXPECT_EQ(blas_core_replacement("skylakex", true), "");
  EXPECT_EQ(blas_core_replacement("Zen", true), "");
  EXPECT_EQ(blas_core_replacement("SapphireRapids", true), "");
}

}  // namespace
}  // namespace qn::kernels
