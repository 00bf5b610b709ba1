// Philox 4x32-10 against Random123's published known-answer vectors, and the generator's streams.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/generator.h"
#include "core/philox.h"
#include "tests/reference.h"

namespace qn {
namespace {

using testing::at;

// Random123 kat_vectors, "philox4x32 10" lines: counter, key -> output.
TEST(Philox, Random123KnownAnswers) {
  EXPECT_EQ(philox::philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (philox::Counter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (philox::Counter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox::philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (philox::Counter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, UniformConversionsStayInRange) {
  EXPECT_EQ(philox::uniform_float(0), 0.0f);
  EXPECT_LT(philox::uniform_float(0xffffffffu), 1.0f);
  EXPECT_LT(philox::uniform_double(0xffffffffu, 0xffffffffu), 1.0);
}

TEST(Generator, SameSeedSameStream) {
  Generator a(42), b(42), c(43);
  Tensor x = rand({100}, DType::f32, &a);
  Tensor y = rand({100}, DType::f32, &b);
  Tensor z = rand({100}, DType::f32, &c);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(at(x, {i}), at(y, {i}));
    differ += at(x, {i}) != at(z, {i});
  }
  EXPECT_GT(differ, 90);
}

TEST(Generator, DrawsAdvanceTheOffsetAndReplay) {
  Generator g(7);
  Tensor first = rand({10}, DType::f32, &g);
  EXPECT_EQ(g.offset(), 3u);  // 10 floats = 3 blocks of 4
  Tensor second = rand({10}, DType::f32, &g);
  EXPECT_NE(at(first, {0}), at(second, {0}));
  g.set_offset(3);
  Tensor replay = rand({10}, DType::f32, &g);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(at(replay, {i}), at(second, {i}));
}

TEST(Generator, ElementIsAFunctionOfSeedOffsetAndPosition) {
  // rand f32 element i is word i%4 of block i/4; check against the block function directly.
  Generator g(123);
  Tensor x = rand({9}, DType::f32, &g);
  for (int i = 0; i < 9; ++i) {
    const philox::Counter w = philox::block(123, static_cast<uint64_t>(i / 4));
    EXPECT_EQ(at(x, {i}), static_cast<double>(philox::uniform_float(w[i % 4])));
  }
  // A longer draw starts with a shorter one's values.
  Generator h(123);
  Tensor longer = rand({50}, DType::f32, &h);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(at(longer, {i}), at(x, {i}));
}

// uniform_ in f64 is low + (high - low) u rounded once (a fused multiply-add), as the GPU draws it: the rule is
// pinned in the source, not left to whether the compiler fuses (it does with FMA in -march, not without).
TEST(Generator, UniformRangesRoundOnceAsOnTheGpu) {
  Generator g(31);
  Tensor x = empty({7}, DType::f64);
  uniform_(x, -3.0, 0.7, &g);
  for (int i = 0; i < 7; ++i) {
    const philox::Counter w = philox::block(31, static_cast<uint64_t>(i / 2));
    const double u = philox::uniform_double(w[2 * (i % 2)], w[2 * (i % 2) + 1]);
    EXPECT_EQ(at(x, {i}), std::fma(0.7 - -3.0, u, -3.0)) << i;
  }
}

TEST(Generator, KeepMaskIsTheUniformDrawComparedInItsDtype) {
  // Element i keeps when the philox uniform of its dtype is >= p; odd sizes cover the partial last block,
  // and p = 0.5 + 2^-26 separates the f32 comparison (p rounds to 0.5) from the f64 one.
  // A second stream has a seed with high bits and block numbers that cross 2^32 inside one 16-block group.
  // 20001 elements: more than one thread's share of 16-block groups.
  // p = 0.1 puts the f32 threshold between two 24-bit uniforms (the integer comparison rounds it up).
  const int64_t n = 20001;
  for (const double p : {0.5 + 0x1.0p-26, 0.1})
    for (const auto& [seed, offset] : {std::pair<uint64_t, uint64_t>{77, 5}, {0x9E3779B97F4A7C15, 0xFFFFFFF9}})
      for (const DType dtype : {DType::f32, DType::f64}) {
        Generator g(seed);
        g.set_offset(offset);
        const Tensor keep = keep_mask({n}, dtype, p, &g);
        EXPECT_EQ(g.offset(), offset + (dtype == DType::f32 ? 5001u : 10001u));
        int64_t kept = 0;
        for (int64_t i = 0; i < n; ++i) {
          bool expected;
          if (dtype == DType::f32) {
            const philox::Counter w = philox::block(seed, offset + static_cast<uint64_t>(i / 4));
            expected = philox::uniform_float(w[i % 4]) >= static_cast<float>(p);
          } else {
            const philox::Counter w = philox::block(seed, offset + static_cast<uint64_t>(i / 2));
            expected = philox::uniform_double(w[2 * (i % 2)], w[2 * (i % 2) + 1]) >= p;
          }
          ASSERT_EQ(at(keep, {i}), expected ? 1.0 : 0.0) << dtype << " element " << i;
          kept += expected;
        }
        EXPECT_NEAR(static_cast<double>(kept) / static_cast<double>(n), 1 - p, 0.02);
      }
}

// Sample moments within 5 standard errors.
TEST(Generator, DistributionsHaveTheirMoments) {
  const int n = 200000;
  Generator g(5);
  for (DType t : {DType::f32, DType::f64}) {
    Tensor u = rand({n}, t, &g);
    Tensor z = randn({n}, t, &g);
    double su = 0, sz = 0, sz2 = 0, umin = 1, umax = 0;
    for (int i = 0; i < n; ++i) {
      const double uv = at(u, {i}), zv = at(z, {i});
      su += uv;
      sz += zv;
      sz2 += zv * zv;
      umin = std::min(umin, uv);
      umax = std::max(umax, uv);
    }
    EXPECT_GE(umin, 0.0);
    EXPECT_LT(umax, 1.0);
    EXPECT_NEAR(su / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
    EXPECT_NEAR(sz / n, 0.0, 5 * std::sqrt(1.0 / n));
    EXPECT_NEAR(sz2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  }
  Tensor r = randint(-3, 4, {n}, DType::i64, &g);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < n; ++i) {
    const int64_t v = static_cast<int64_t>(at(r, {i}));
    ASSERT_GE(v, -3);
    ASSERT_LT(v, 4);
    ++counts[v + 3];
  }
  for (int c : counts) EXPECT_NEAR(c, n / 7.0, 5 * std::sqrt(n / 7.0));
}

TEST(Generator, FillsViewsInPlace) {
  Generator g(9);
  Tensor t = zeros({4, 6});
  Tensor column = t.narrow(1, 2, 1);
  normal_(column, 10.0, 0.001, &g);
  EXPECT_NEAR(at(t, {3, 2}), 10.0, 0.01);
  EXPECT_EQ(at(t, {3, 3}), 0.0);
  uniform_(t, -2, -1, &g);
  EXPECT_LE(at(t, {0, 0}), -1.0);
  EXPECT_QN_ERROR(randint(3, 3, {2}), "randint", "low < high");
  EXPECT_QN_ERROR(rand({2}, DType::i32), "rand", "floating");
}

TEST(Generator, RandpermIsAReproduciblePermutation) {
  Generator g(21);
  const Tensor p = randperm(1000, &g);
  ASSERT_EQ(p.dtype(), DType::i64);
  std::vector<int> seen(1000, 0);
  int fixed_points = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto v = static_cast<int>(at(p, {i}));
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 1000);
    ++seen[static_cast<size_t>(v)];
    fixed_points += v == i;
  }
  for (int count : seen) EXPECT_EQ(count, 1);
  EXPECT_LT(fixed_points, 10);  // a shuffle, not the identity (expected about 1)
  EXPECT_EQ(g.offset(), 500u);  // two keys per block
  Generator replay(21);
  const Tensor q = randperm(1000, &replay);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(at(p, {i}), at(q, {i}));
  EXPECT_EQ(randperm(0, &g).numel(), 0);
  EXPECT_QN_ERROR(randperm(-1, &g), "randperm", "n >= 0");
}

TEST(Generator, DefaultGeneratorIsSeedable) {
  manual_seed(11);
  Tensor a = randn({5});
  manual_seed(11);
  Tensor b = randn({5});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(at(a, {i}), at(b, {i}));
}

}  // namespace
}  // namespace qn
