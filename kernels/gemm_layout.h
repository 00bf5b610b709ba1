// How a GEMM reads an operand matrix without a copy: row-major with a leading dimension, or the transpose of one.
// Shared by the CPU (OpenBLAS) and CUDA (cuBLAS) matmuls; only layouts neither form expresses are copied.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/tensor.h"

namespace qn::kernels {

struct MatrixLayout {
  bool ok = false;
  bool trans = false;  // the matrix is the transpose of a row-major (cols, rows) one
  int64_t ld = 0;      // leading dimension of the row-major matrix read
};

// A (rows, cols) matrix with the given strides; size-1 dims leave their stride free.
inline MatrixLayout gemm_layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if ((col_stride == 1 || cols == 1) && (rows == 1 || row_stride >= std::max<int64_t>(cols, 1))) {
    return {true, false, rows == 1 ? std::max<int64_t>(cols, 1) : row_stride};
  }
  if ((row_stride == 1 || rows == 1) && (cols == 1 || col_stride >= std::max<int64_t>(rows, 1))) {
    return {true, true, cols == 1 ? std::max<int64_t>(rows, 1) : col_stride};
  }
  return {};
}

// The layout of a batch of matrices (the last two dims of t).
inline MatrixLayout gemm_layout(const Tensor& t) {
  const int d = t.dim();
  return gemm_layout(t.shape()[d - 2], t.shape()[d - 1], t.strides()[d - 2], t.strides()[d - 1]);
}

// t, or a contiguous copy when GEMM cannot read its matrices as they lie.
inline Tensor gemm_ready(const Tensor& t) { return gemm_layout(t).ok ? t : t.contiguous(); }

}  // namespace qn::kernels
