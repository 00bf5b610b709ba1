// Walking N tensors of one shape, each with its own strides, as a sequence of 1-D rows.
// Used by copies and by every elementwise kernel: they only have to write the row loop.
//
//   for_each_row<2>(shape, {dst_strides, src_strides}, [&](const RowPointers<2>& row) {
//     for (int64_t i = 0; i < row.n; ++i) dst[row.offset[0] + i * row.stride[0]] = ...;
//   });
#pragma once

#include <array>
#include <cstdint>

#include "core/parallel.h"
#include "core/shape.h"

namespace qn {

template <int N>
struct RowPointers {
  std::array<int64_t, N> offset;  // element offset of the row's first element, per operand
  std::array<int64_t, N> stride;  // element stride along the row, per operand
  int64_t n;                      // elements in the row
};

// Merges adjacent dims that every operand walks as one, and drops size-1 dims, so that a
// contiguous tensor of any shape becomes a single row.
template <int N>
void coalesce_dims(Shape& shape, std::array<Strides, N>& strides) {
  Shape out_shape;
  std::array<Strides, N> out_strides;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out_shape.empty();
    for (int k = 0; k < N && merge; ++k) {
      merge = out_strides[k].back() == strides[k][d] * shape[d];
    }
    if (merge) {
      out_shape[out_shape.size() - 1] *= shape[d];
      for (int k = 0; k < N; ++k) out_strides[k][out_shape.size() - 1] = strides[k][d];
    } else {
      out_shape.push_back(shape[d]);
      for (int k = 0; k < N; ++k) out_strides[k].push_back(strides[k][d]);
    }
  }
  if (out_shape.empty()) {  // a single element (or 0-d)
    out_shape.push_back(shape.numel() == 0 ? 0 : 1);
    for (int k = 0; k < N; ++k) out_strides[k].push_back(0);
  }
  shape = out_shape;
  strides = out_strides;
}

// Calls row_fn(RowPointers<N>) for every innermost row of shape. With grain > 0 the element range is
// split over threads (rows may then be cut in pieces); row_fn must be safe to call concurrently.
template <int N, class RowFn>
void for_each_row(Shape shape, std::array<Strides, N> strides, const RowFn& row_fn, int64_t grain = 0) {
  if (shape.numel() == 0) return;
  coalesce_dims<N>(shape, strides);
  const int ndim = shape.size();
  const int64_t inner = shape[ndim - 1];
  auto run_range = [&](int64_t begin, int64_t end) {
    // Multi-index of `begin` over the outer dims, and position within its row.
    std::array<int64_t, SmallDims::kMaxDims> index{};
    int64_t rest = begin / inner;
    for (int d = ndim - 2; d >= 0; --d) {
      index[d] = rest % shape[d];
      rest /= shape[d];
    }
    int64_t pos = begin % inner;
    int64_t remaining = end - begin;
    while (remaining > 0) {
      RowPointers<N> row;
      for (int k = 0; k < N; ++k) {
        int64_t off = pos * strides[k][ndim - 1];
        for (int d = 0; d < ndim - 1; ++d) off += index[d] * strides[k][d];
        row.offset[k] = off;
        row.stride[k] = strides[k][ndim - 1];
      }
      row.n = std::min(inner - pos, remaining);
      row_fn(row);
      remaining -= row.n;
      pos = 0;
      for (int d = ndim - 2; d >= 0; --d) {  // advance the outer multi-index
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
  };
  if (grain > 0) {
    parallel_for(0, shape.numel(), grain, run_range);
  } else {
    run_range(0, shape.numel());
  }
}

// Strides of t's layout when broadcast to shape (stride 0 along broadcast dims).
inline Strides broadcast_strides(const Shape& from_shape, const Strides& from_strides, const Shape& to_shape) {
  Strides out = Strides::filled(to_shape.size(), 0);
  const int lead = to_shape.size() - from_shape.size();
  for (int i = 0; i < from_shape.size(); ++i) {
    out[lead + i] = from_shape[i] == 1 ? 0 : from_strides[i];
  }
  return out;
}

}  // namespace qn
