// Test helpers that do not go through the kernels under test: element reads through strides, index
// enumeration, and comparison against values computed by naive f64 loops.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace qn::testing {

using Index = std::vector<int64_t>;

// The element of t at idx, as double, read straight from storage through t's strides.
inline double at(const Tensor& t, const Index& idx) {
  int64_t offset = t.offset();
  for (int d = 0; d < t.dim(); ++d) offset += idx[d] * t.strides()[d];
  const void* base = t.storage().data();
  return visit_dtype(t.dtype(), [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    const T v = static_cast<const T*>(base)[offset];
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      return static_cast<float>(v);
    } else {
      return static_cast<double>(v);
    }
  });
}

// Every index of shape, row-major.
inline std::vector<Index> all_indices(const Shape& shape) {
  std::vector<Index> out;
  if (shape.numel() == 0) return out;
  Index idx(shape.size(), 0);
  while (true) {
    out.push_back(idx);
    int d = shape.size() - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return out;
}

// The index into a tensor of from_shape that broadcasting maps idx (of a larger shape) to.
inline Index broadcast_index(const Index& idx, const Shape& from_shape) {
  Index out(from_shape.size());
  const size_t lead = idx.size() - from_shape.size();
  for (int d = 0; d < from_shape.size(); ++d) out[d] = from_shape[d] == 1 ? 0 : idx[lead + d];
  return out;
}

// A randn tensor of shape; seeded so failures reproduce.
inline Tensor random(const Shape& shape, DType dtype = DType::f32, uint64_t seed = 1) {
  Generator gen(seed);
  return randn(shape, dtype, &gen);
}

// The same values as random(shape) but laid out non-contiguously: a transposed view of a tensor with
// the last two dims swapped, or a stride-2 slice for 1-D.
inline Tensor random_strided(const Shape& shape, DType dtype = DType::f32, uint64_t seed = 1) {
  if (shape.size() < 2) {
    Shape wide = shape;
    if (!wide.empty()) wide[0] *= 2;
    Tensor big = random(wide, dtype, seed);
    return shape.empty() ? big : big.slice(0, 0, wide[0], 2);
  }
  Shape swapped = shape;
  std::swap(swapped[shape.size() - 1], swapped[shape.size() - 2]);
  Tensor t = random(swapped, dtype, seed).transpose(-1, -2);
  EXPECT_FALSE(t.is_contiguous() && shape.numel() > 1 && shape[shape.size() - 1] > 1 && shape[shape.size() - 2] > 1);
  return t;
}

// Checks actual against expected(idx) for every index, within atol + rtol * |expected|.
inline void expect_all_close(const Tensor& actual, const Shape& shape,
                             const std::function<double(const Index&)>& expected, double rtol, double atol) {
  ASSERT_EQ(actual.shape(), shape);
  int failures = 0;
  for (const Index& idx : all_indices(shape)) {
    const double want = expected(idx);
    const double got = at(actual, idx);
    const bool both_nan = std::isnan(want) && std::isnan(got);
    const bool same_inf = std::isinf(want) && got == want;
    if (!both_nan && !same_inf && !(std::abs(got - want) <= atol + rtol * std::abs(want))) {
      if (++failures <= 5) {
        std::string where;
        for (int64_t i : idx) where += std::to_string(i) + ",";
        ADD_FAILURE() << "at [" << where << "]: got " << got << ", expected " << want;
      }
    }
  }
  EXPECT_EQ(failures, 0) << "elements out of tolerance (rtol " << rtol << ", atol " << atol << ")";
}

// Tolerances for a computation done in dtype, against an f64 reference.
inline double rtol_for(DType t) { return t == DType::f32 ? 2e-5 : 1e-12; }

// EXPECT that statement throws qn::Error whose message contains every given fragment.
#define EXPECT_QN_ERROR(statement, ...)                                               \
  do {                                                                                \
    try {                                                                             \
      statement;                                                                      \
      ADD_FAILURE() << "expected qn::Error from: " #statement;                        \
    } catch (const ::qn::Error& qn_error_) {                                          \
      for (const char* fragment : {__VA_ARGS__}) {                                    \
        EXPECT_NE(std::string(qn_error_.what()).find(fragment), std::string::npos)    \
            << "message \"" << qn_error_.what() << "\" lacks \"" << fragment << "\""; \
      }                                                                               \
    }                                                                                 \
  } while (0)

}  // namespace qn::testing
