// Indexing kernels. Indices are i64 or i32 and are bounds-checked before anything is written.
#pragma once

#include "core/tensor.h"

namespace qn::kernels {

// out = x with dim replaced by index.numel(): out[..., j, ...] = x[..., index[j], ...]. index is 1-D.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// Rows of weight (V, D) for each index: indices (any shape) -> (indices.shape..., D).
Tensor embedding(const Tensor& weight, const Tensor& indices);
// torch.gather: out has index's shape; out[i][j][k] = x[i][index[i][j][k]][k] for dim 1.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// torch.scatter_add, out of place: a copy of self with out[i][index[i][j][k]][k] += src[i][j][k] (dim 1).
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// torch.index_add, out of place: a copy of self with self[..., index[j], ...] += src[..., j, ...].
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace qn::kernels
