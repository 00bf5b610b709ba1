// Reductions over any set of dims (all dims when dims is empty), with keepdim. Floating sums
// accumulate in double; integer sums in int64 (and return i64, as in PyTorch).
#pragma once

#include <vector>

#include "core/tensor.h"

namespace qn::kernels {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // floating only
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // NaN propagates
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Variance with Bessel's correction by default (divide by N - correction).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
// Dot products of rows: a and b (R, L) -> (R), each summed in double as sum() sums. What sum(a * b, {1}) gives,
// without the (R, L) product in memory (a broadcast product's gradient, e.g. squeeze-and-excitation's scale).
Tensor row_dots(const Tensor& a, const Tensor& b);
// Index (i64) of the first maximum along dim; a NaN counts as the maximum.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace qn::kernels
