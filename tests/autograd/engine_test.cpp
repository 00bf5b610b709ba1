// The graph and the engine: accumulation, ordering, hooks, grad(), and the protections (in-place
// writes to saved tensors, leaf writes, double backward, leaks).
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "core/allocator.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

Tensor leaf(const Shape& shape, uint64_t seed = 1) {
  Tensor t = testing::random(shape, DType::f64, seed);
  t.set_requires_grad(true);
  return t;
}

TEST(Engine, LeavesAccumulateAcrossBackwardCalls) {
  Tensor w = leaf({3});
  Tensor x = from_vector<double>({1, 2, 3});
  sum(mul(w, x)).backward();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(at(w.grad(), {i}), i + 1.0);
  sum(mul(w, x)).backward();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(at(w.grad(), {i}), 2 * (i + 1.0));
  w.zero_grad();
  EXPECT_FALSE(w.grad().defined());
  EXPECT_TRUE(w.is_leaf());
  EXPECT_FALSE(mul(w, x).is_leaf());
  EXPECT_FALSE(x.requires_grad());
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, DiamondRunsEachNodeOnceWithSummedGradient) {
  // y = a * b + a * c with b = c = 2a:  dy/da = b + c + a*2 + a*2 = 8a
  Tensor a = leaf({4});
  Tensor b = mul(a, 2.0);
  Tensor y = sum(add(mul(a, b), mul(a, b)));
  int calls = 0;
  b.register_hook([&](const Tensor&) {
    ++calls;
    return Tensor();
  });
  y.backward();
  EXPECT_EQ(calls, 1);  // b's gradient arrives whole, once
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(at(a.grad(), {i}), 8 * at(a, {i}), 1e-12);
}

TEST(Engine, HooksCanReplaceGradients) {
  Tensor a = leaf({2});
  a.register_hook([](const Tensor& g) { return mul(g, 10.0); });
  sum(a).backward();
  EXPECT_EQ(at(a.grad(), {0}), 10.0);
}

TEST(Engine, PostAccumulateHooksSeeTheAccumulatedGradientOncePerBackward) {
  Tensor a = leaf({2});
  std::vector<double> seen;
  a.register_post_accumulate_grad_hook([&](const Tensor& accumulated) { seen.push_back(at(accumulated, {0})); });
  sum(add(mul(a, 2.0), mul(a, 3.0))).backward();  // two paths into a: one call, after both arrived
  sum(mul(a, 4.0)).backward();                    // accumulates onto the first backward's 5
  EXPECT_EQ(seen, (std::vector<double>{5.0, 9.0}));
  EXPECT_THROW(mul(a, 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}), Error);  // not a leaf
}

TEST(Engine, RetainGradKeepsIntermediateGradients) {
  Tensor a = leaf({2});
  Tensor b = mul(a, 3.0);
  b.retain_grad();
  sum(mul(b, b)).backward();
  EXPECT_NEAR(at(b.grad(), {1}), 2 * at(b, {1}), 1e-12);
}

TEST(Engine, FunctionalGradLeavesDotGradAlone) {
  Tensor a = leaf({3});
  Tensor y = sum(mul(a, a));
  std::vector<Tensor> g = grad({y}, {a});
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(at(g[0], {i}), 2 * at(a, {i}), 1e-12);
  EXPECT_FALSE(a.grad().defined());
  Tensor unused = leaf({2});
  Tensor y2 = sum(mul(a, 2.0));
  EXPECT_FALSE(grad({y2}, {unused})[0].defined());
}

TEST(Engine, NonScalarBackwardNeedsAGradient) {
  Tensor a = leaf({3});
  Tensor y = mul(a, 2.0);
  EXPECT_QN_ERROR(y.backward(), "backward", "one-element", "pass the gradient");
  y.backward(ones({3}, DType::f64));
  EXPECT_EQ(at(a.grad(), {2}), 2.0);
  EXPECT_QN_ERROR(sum(from_vector<double>({1.0})).backward(), "backward", "does not require grad");
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor a = leaf({3});
  {
    NoGradGuard guard;
    Tensor y = mul(a, 2.0);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_FALSE(grad_mode_enabled());
  }
  EXPECT_TRUE(grad_mode_enabled());
  EXPECT_TRUE(mul(a, 2.0).requires_grad());
}

// Protection: an in-place write to a tensor saved for backward. Without the version check, backward
// would silently use the modified values.
TEST(Protection, InPlaceWriteToASavedTensorFailsBackward) {
  Tensor a = leaf({3});
  Tensor b = mul(a, 1.0);     // non-leaf
  Tensor y = sum(mul(b, b));  // saves b
  Tensor alias = b.detach();  // shares b's storage and version counter
  alias.fill_(5);
  EXPECT_QN_ERROR(y.backward(), "qn::backward", "mul", "modified in place", "version");
}

TEST(Protection, InPlaceOpOnALeafThatRequiresGradIsRefused) {
  Tensor w = leaf({3});
  EXPECT_QN_ERROR(w.fill_(0), "fill_", "leaf that requires grad", "NoGradGuard");
  EXPECT_QN_ERROR(add_(w, ones({3}, DType::f64)), "add_", "leaf that requires grad");
  NoGradGuard guard;  // optimizer steps run like this
  add_(w, ones({3}, DType::f64), -0.5);
  w.fill_(1);
  EXPECT_EQ(at(w, {0}), 1.0);
}

TEST(Protection, BackwardTwiceWithoutRetainGraphFails) {
  Tensor a = leaf({3});
  Tensor y = sum(exp(a));
  y.backward(Tensor(), true);
  y.backward();  // allowed: the first call retained the graph
  EXPECT_NEAR(at(a.grad(), {0}), 2 * std::exp(at(a, {0})), 1e-12);
  EXPECT_QN_ERROR(y.backward(), "backward", "freed by an earlier backward()", "retain_graph");
}

// Protection: the graph and saved tensors are freed. A training loop's live memory must not grow.
TEST(Protection, ATrainingLoopKeepsAFlatFootprint) {
  Tensor w1 = leaf({32, 16}, 1);
  Tensor w2 = leaf({16, 4}, 2);
  const Tensor x = testing::random({64, 32}, DType::f64, 3);
  const Tensor target = testing::random({64, 4}, DType::f64, 4);
  auto step = [&] {
    Tensor h = relu(matmul(x, w1));
    Tensor loss = mean(pow(sub(matmul(h, w2), target), 2.0));
    loss.backward();
    NoGradGuard guard;
    add_(w1, w1.grad(), -0.01);
    add_(w2, w2.grad(), -0.01);
    w1.zero_grad();
    w2.zero_grad();
  };
  for (int i = 0; i < 10; ++i) step();
  const int64_t after_warmup = host_allocator_stats().live_bytes;
  for (int i = 0; i < 1000; ++i) step();
  EXPECT_EQ(host_allocator_stats().live_bytes, after_warmup);
}

TEST(Protection, ATensorSavedByItsOwnOpDoesNotLeak) {
  // exp saves its output: without detached saving, output -> node -> output would be a cycle.
  const int64_t before = host_allocator_stats().live_bytes;
  {
    Tensor a = leaf({1000});
    Tensor y = exp(a);
    Tensor z = sigmoid(y);
  }
  EXPECT_EQ(host_allocator_stats().live_bytes, before);
}

}  // namespace
}  // namespace qn
