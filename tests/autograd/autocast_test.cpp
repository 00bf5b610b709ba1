// Autocast: which ops narrow, which compute in f32, promotion of mixed dtypes, f64 untouched, the guard's scope,
// and gradients reaching f32 parameters in f32.
#include "autograd/autocast.h"

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

Tensor leaf(const Shape& shape, DType dtype, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, dtype, &gen).set_requires_grad(true);
}

TEST(Autocast, NarrowsGemmsAndKeepsSensitiveOpsInF32) {
  const Tensor x = leaf({4, 6}, DType::f32, 1), w = leaf({5, 6}, DType::f32, 2), b = leaf({5}, DType::f32, 3);
  const Tensor image = leaf({2, 3, 5, 5}, DType::f32, 4), kernel = leaf({4, 3, 3, 3}, DType::f32, 5);
  AutocastGuard autocast(DType::bf16);
  EXPECT_EQ(autocast_dtype(), DType::bf16);
  const Tensor y = linear(x, w, b);
  EXPECT_EQ(y.dtype(), DType::bf16);  // the bias narrows too, as PyTorch's linear
  EXPECT_EQ(matmul(x, transpose(w, 0, 1)).dtype(), DType::bf16);
  EXPECT_EQ(bmm(x.view({2, 2, 6}), w.view({1, 6, 5}).expand({2, 6, 5})).dtype(), DType::bf16);
  EXPECT_EQ(conv2d(image, kernel, {}).dtype(), DType::bf16);
  EXPECT_EQ(softmax(y, -1).dtype(), DType::f32);
  EXPECT_EQ(log_softmax(y, -1).dtype(), DType::f32);
  EXPECT_EQ(layer_norm(y, {5}, b, b).dtype(), DType::f32);
  EXPECT_EQ(cross_entropy(y, from_vector<int64_t>({0, 1, 2, 3})).dtype(), DType::f32);
  EXPECT_EQ(mse_loss(y, zeros({4, 5})).dtype(), DType::f32);
  EXPECT_EQ(gelu(y).dtype(), DType::bf16);  // elementwise: the input's dtype
  // f64 is never cast.
  EXPECT_EQ(matmul(x.to(DType::f64), transpose(w, 0, 1).to(DType::f64)).dtype(), DType::f64);
}

TEST(Autocast, MixedDtypesPromoteAsInPyTorch) {
  const Tensor half = ones({3}, DType::bf16), single = ones({3}), wide = ones({3}, DType::f64);
  EXPECT_EQ(add(half, single).dtype(), DType::f32);
  EXPECT_EQ(mul(single, wide).dtype(), DType::f64);
  EXPECT_EQ(sub(half, ones({3}, DType::f16)).dtype(), DType::f32);            // f16 with bf16
  EXPECT_EQ(div(half, scalar_tensor(2.0, DType::f32)).dtype(), DType::bf16);  // a 0-dim tensor takes the other's
  EXPECT_EQ(where(ones({3}, DType::u8), half, single).dtype(), DType::f32);
  EXPECT_EQ(at(add(half, single), {1}), 2.0);
  EXPECT_QN_ERROR(add(ones({3}), ones({3}, DType::i64)), "add", "dtype");  // not floating: no promotion
}

TEST(Autocast, TheGuardScopesItAndNests) {
  const Tensor a = ones({2, 2});
  EXPECT_EQ(autocast_dtype(), std::nullopt);
  {
    AutocastGuard outer(DType::f16);
    EXPECT_EQ(matmul(a, a).dtype(), DType::f16);
    {
      AutocastGuard off(std::nullopt);
      EXPECT_EQ(matmul(a, a).dtype(), DType::f32);
    }
    EXPECT_EQ(autocast_dtype(), DType::f16);
  }
  EXPECT_EQ(matmul(a, a).dtype(), DType::f32);
  EXPECT_QN_ERROR(AutocastGuard refused(DType::f32), "AutocastGuard", "bf16 or f16");
}

// The gradients of f32 parameters come back in f32 and close to an f32 run's: bf16 keeps 8 significant bits.
TEST(Autocast, GradientsReachF32ParametersInF32) {
  const Tensor x = leaf({8, 6}, DType::f32, 1), w = leaf({5, 6}, DType::f32, 2), b = leaf({5}, DType::f32, 3);
  const Tensor targets = from_vector<int64_t>({0, 1, 2, 3, 4, 0, 1, 2});
  const auto loss_of = [&] { return cross_entropy(gelu(linear(x, w, b)), targets); };
  const Tensor full = loss_of();
  const std::vector<Tensor> want = grad({full}, {x, w, b});
  Tensor mixed;
  {
    AutocastGuard autocast(DType::bf16);
    mixed = loss_of();
  }
  EXPECT_EQ(mixed.dtype(), DType::f32);
  EXPECT_NEAR(mixed.item<double>(), full.item<double>(), 1e-2 * std::abs(full.item<double>()));
  mixed.backward();
  const Tensor* params[] = {&x, &w, &b};
  for (int p = 0; p < 3; ++p) {
    const Tensor& got = params[p]->grad();
    ASSERT_EQ(got.dtype(), DType::f32);
    testing::expect_all_close(
        got, got.shape(), [&](const testing::Index& i) { return at(want[p], i); }, 3e-2, 3e-3);
  }
}

}  // namespace
}  // namespace qn
