// Tensor handles, views, copies, factories and printing.
#include "core/tensor.h"

#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/cuda_memory.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

Tensor iota(const Shape& shape, DType dtype = DType::f32) {
  return arange(0, static_cast<double>(shape.numel()), 1, dtype).view(shape);
}

TEST(Tensor, HandleIsSharedAndCheap) {
  Tensor a = zeros({2, 3});
  Tensor b = a;  // copies the handle
  b.fill_(5);
  EXPECT_EQ(at(a, {1, 2}), 5.0);
  EXPECT_TRUE(a.is_same(b));
  EXPECT_FALSE(Tensor().defined());
  EXPECT_QN_ERROR(Tensor().shape(), "undefined tensor");
}

TEST(Tensor, ContiguousStridesAndMetadata) {
  Tensor t = empty({2, 3, 4}, DType::f64);
  EXPECT_EQ(t.strides(), (Strides{12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.nbytes(), 24u * 8);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % kHostAlignment, 0u);
  EXPECT_QN_ERROR(t.size(3), "size", "dim 3 out of range", "3 dimensions");
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = iota({2, 3, 4});
  for (const Tensor& v :
       {t.view({6, 4}), t.transpose(0, 2), t.permute({2, 0, 1}), t.narrow(1, 1, 2), t.slice(2, 0, 4, 2), t.select(0, 1),
        t.unsqueeze(1), t.view({1, 24}).squeeze(), t.reshape({4, 6})}) {
    EXPECT_TRUE(v.shares_storage_with(t));
  }
  Tensor v = t.transpose(0, 2);
  v.fill_(-1);
  EXPECT_EQ(at(t, {1, 2, 3}), -1.0);
}

TEST(Tensor, ViewIndexingMatchesDefinition) {
  Tensor t = iota({2, 3, 4});
  auto value = [](int64_t i, int64_t j, int64_t k) { return static_cast<double>(i * 12 + j * 4 + k); };
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(at(p, {3, 1, 2}), value(1, 2, 3));
  Tensor n = t.narrow(2, 1, 2);
  EXPECT_EQ(at(n, {1, 2, 1}), value(1, 2, 2));
  Tensor s = t.slice(2, 1, 100, 2);  // Python t[:, :, 1::2]
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(at(s, {0, 1, 1}), value(0, 1, 3));
  Tensor neg = t.slice(1, -2, 3);
  EXPECT_EQ(neg.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(at(neg, {0, 0, 0}), value(0, 1, 0));
  Tensor sel = t.select(1, -1);
  EXPECT_EQ(sel.shape(), (Shape{2, 4}));
  EXPECT_EQ(at(sel, {1, 3}), value(1, 2, 3));
  Tensor u = t.unsqueeze(-1);
  EXPECT_EQ(u.shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(t.flatten(1).shape(), (Shape{2, 12}));
}

TEST(Tensor, ExpandUsesZeroStrides) {
  Tensor t = iota({3, 1});
  Tensor e = t.expand({2, 3, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Strides{0, 1, 0}));
  EXPECT_EQ(at(e, {1, 2, 3}), 2.0);
  EXPECT_EQ(t.expand({-1, 5}).shape(), (Shape{3, 5}));
  EXPECT_QN_ERROR(t.expand({4, 4}), "expand", "[3, 1]", "[4, 4]");
}

TEST(Tensor, ViewRefusesWhatStridesCannotExpress) {
  Tensor t = iota({3, 4}).t();  // (4, 3), column-major
  EXPECT_QN_ERROR(t.view({12}), "view", "reshape");
  Tensor r = t.reshape({12});  // copies
  EXPECT_FALSE(r.shares_storage_with(t));
  EXPECT_EQ(at(r, {1}), 4.0);  // t[0][1] = original[1][0]
  // Splitting and merging dims that stay contiguous among themselves is a view.
  Tensor m = iota({2, 3, 4}).transpose(0, 1);  // (3, 2, 4)
  Tensor mv = m.view({3, 2, 2, 2});
  EXPECT_TRUE(mv.shares_storage_with(m));
  EXPECT_EQ(at(mv, {2, 1, 1, 0}), at(m, {2, 1, 2}));
  EXPECT_EQ(iota({2, 6}).view({-1, 3}).shape(), (Shape{4, 3}));
  EXPECT_QN_ERROR(iota({2, 6}).view({5, -1}), "view", "invalid for 12 elements");
}

TEST(Tensor, ContiguousAndCloneCopy) {
  Tensor t = iota({3, 4}).t();
  EXPECT_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage_with(t));
  for (const auto& idx : testing::all_indices(t.shape())) EXPECT_EQ(at(c, idx), at(t, idx));
  Tensor same = c.contiguous();
  EXPECT_TRUE(same.is_same(c));
  Tensor copy = c.clone();
  copy.fill_(0);
  EXPECT_EQ(at(c, {1, 0}), 1.0);
}

TEST(Tensor, CopyBroadcastsAndConverts) {
  Tensor dst = zeros({2, 3}, DType::f64);
  dst.copy_(from_vector<int32_t>({7, 8, 9}));
  EXPECT_EQ(at(dst, {1, 2}), 9.0);
  EXPECT_QN_ERROR(dst.copy_(zeros({3, 3})), "copy_", "[3, 3]", "[2, 3]");
}

TEST(Tensor, ToDtypeRoundsAndSaturatesLikeCasts) {
  Tensor x = from_vector<float>({1.5f, -2.75f, 100.0f});
  Tensor i = x.to(DType::i32);
  EXPECT_EQ(at(i, {0}), 1.0);  // truncation toward zero, as static_cast and PyTorch
  EXPECT_EQ(at(i, {1}), -2.0);
  EXPECT_EQ(x.to(DType::f32).is_same(x), true);
  Tensor h = from_vector<float>({1.0f / 3.0f}).to(DType::f16);
  EXPECT_EQ(h.data_ptr<Half>()[0].bits, 0x3555);
  EXPECT_EQ(at(h.to(DType::f64), {0}), 0.333251953125);
}

TEST(Tensor, EmptyTensorsAndZeroDims) {
  Tensor e = zeros({0, 3});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.contiguous().shape(), (Shape{0, 3}));
  EXPECT_EQ(e.view({3, 0}).shape(), (Shape{3, 0}));
  Tensor s = scalar_tensor(4.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<double>(), 4.5);
  EXPECT_EQ(s.reshape({1, 1}).shape(), (Shape{1, 1}));
  EXPECT_QN_ERROR(zeros({2}).item<float>(), "item", "one-element");
}

TEST(Tensor, DataPtrChecksDtype) {
  Tensor t = zeros({2}, DType::i64);
  EXPECT_NE(t.data_ptr<int64_t>(), nullptr);
  EXPECT_QN_ERROR(t.data_ptr<float>(), "data_ptr", "f32", "i64[2]");
}

TEST(Factories, ArangeLinspaceFull) {
  Tensor a = arange(1, 2.05, 0.25, DType::f64);
  EXPECT_EQ(a.numel(), 5);
  EXPECT_EQ(at(a, {4}), 2.0);
  EXPECT_EQ(arange(5).dtype(), DType::i64);
  EXPECT_EQ(arange(5, -1, -2).numel(), 3);
  EXPECT_QN_ERROR(arange(0, 1, 0), "arange", "non-zero step");
  Tensor l = linspace(-1, 1, 5, DType::f64);
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(at(l, {i}), -1.0 + 0.5 * i);
  EXPECT_EQ(linspace(3, 7, 1).numel(), 1);
  EXPECT_EQ(at(linspace(3, 7, 1), {0}), 3.0);
  EXPECT_EQ(at(full({2, 2}, 7, DType::u8), {1, 1}), 7.0);
  EXPECT_EQ(at(ones({3}, DType::bf16), {2}), 1.0);
  EXPECT_QN_ERROR(from_vector<float>({1, 2, 3}, {2, 2}), "from_vector", "needs 4 values, got 3");
  EXPECT_QN_ERROR(empty({-1}), "empty", "negative");
  EXPECT_QN_ERROR(empty({int64_t{1} << 40, int64_t{1} << 40}), "empty", "overflow");
}

TEST(Printing, ReadableNestedAndSummarized) {
  EXPECT_EQ(from_vector<float>({1, 2.5}, {2}).str(), "tensor([1.0000, 2.5000], dtype=f32)");
  EXPECT_EQ(from_vector<int64_t>({1, -20, 3, 4}, {2, 2}).str(), "tensor([[  1, -20],\n        [  3,   4]], dtype=i64)");
  EXPECT_EQ(zeros({0, 2}).str(), "tensor([], shape=[0, 2], dtype=f32)");
  EXPECT_EQ(scalar_tensor(2).str(), "tensor(2.0000, dtype=f32)");
  const std::string big = arange(2000, DType::i64).str();
  EXPECT_NE(big.find("[   0,    1,    2, ..., 1997, 1998, 1999]"), std::string::npos) << big;
  EXPECT_NE(from_vector<double>({1e-6, 1}).str().find("e-06"), std::string::npos);
}

TEST(Errors, NameOpShapesAndExpectation) {
  Tensor t = zeros({2, 3});
  EXPECT_QN_ERROR(t.permute({0, 0}), "qn::permute", "repeated");
  EXPECT_QN_ERROR(t.narrow(1, 2, 2), "qn::narrow", "out of bounds", "f32[2, 3]");
  EXPECT_QN_ERROR(t.transpose(0, 5), "qn::transpose", "dim 5");
}

TEST(Allocator, CountsLiveBytes) {
  const int64_t before = host_allocator_stats().live_bytes;
  {
    Tensor t = empty({1000}, DType::f64);
    EXPECT_EQ(host_allocator_stats().live_bytes, before + 8000);
    Tensor view = t.narrow(0, 0, 10);  // views allocate nothing
    EXPECT_EQ(host_allocator_stats().live_bytes, before + 8000);
  }
  EXPECT_EQ(host_allocator_stats().live_bytes, before);
}

TEST(Allocator, ReusesFreedLargeBlocksAndReleasesThem) {
  release_host_cache();
  void* first = nullptr;
  {
    Tensor big = empty({1 << 20});  // 4 MiB
    first = big.raw_data();
  }
  EXPECT_GE(host_allocator_stats().cached_bytes, 4 << 20);
  Tensor again = empty({1 << 20});
  EXPECT_EQ(again.raw_data(), first);  // the same block, no new pages to fault in
  EXPECT_EQ(host_allocator_stats().cached_bytes, 0);
  Tensor other = empty({(1 << 20) + 100000});  // a different size is not served from that block
  EXPECT_NE(other.raw_data(), first);
  again = Tensor();
  release_host_cache();
  EXPECT_EQ(host_allocator_stats().cached_bytes, 0);
}

// Without a usable GPU (a build without CUDA, or no device), asking for CUDA memory says why in one line.
TEST(Tensor, CudaMemoryWithoutAGpuSaysWhy) {
  if (cuda::available()) GTEST_SKIP() << "a CUDA device is visible: tests/cuda covers it";
  EXPECT_QN_ERROR(zeros({2}).to(Device::cuda(0)), "cannot use cuda:0");
  EXPECT_QN_ERROR(empty({3}, Device::cuda(1)), "cannot use cuda:1");
  EXPECT_TRUE(zeros({2}).to(Device::cpu()).defined());
}

// A tensor that cannot fit says how much was asked, instead of std::bad_alloc or a wrapped-around size.
TEST(Tensor, TooLargeForMemorySaysHowMuchWasAsked) {
  EXPECT_QN_ERROR(empty({int64_t{1} << 50}), "memory", "cannot allocate 4 PiB for a tensor", "--batch-size");
  EXPECT_QN_ERROR(empty({int64_t{1} << 30, int64_t{1} << 30}), "memory", "cannot allocate 4 EiB");
  EXPECT_THROW(empty({int64_t{1} << 40, int64_t{1} << 40}), Error);  // numel itself overflows
}

}  // namespace
}  // namespace qn
