// Matrix products through OpenBLAS. Transposed and strided operands are passed to GEMM as
// (transpose flag, leading dimension) rather than copied; only layouts GEMM cannot express are copied.
#pragma once

#include "core/tensor.h"

namespace qn::kernels {

// NumPy matmul: 1-D x 1-D is a dot product; 1-D operands are promoted to a row/column and the added
// dim removed; N-D operands are stacks of matrices whose batch dims broadcast.
//   a (..., M, K) @ b (..., K, N) -> (..., M, N)
Tensor matmul(const Tensor& a, const Tensor& b);
// Strictly batched: a (B, M, K) @ b (B, K, N) -> (B, M, N).
Tensor bmm(const Tensor& a, const Tensor& b);
// A Linear layer on rows: rows (M, K) @ weight (N, K)^T + bias (N) -> (M, N); bias may be undefined. On the CPU the
// bias is the GEMM's starting C (beta 1), so adding it costs no pass of its own.
Tensor linear(const Tensor& rows, const Tensor& weight, const Tensor& bias);

// Whether f32 products on a GPU may use TF32 tensor cores (10-bit mantissa inputs, f32 accumulation): PyTorch's
// torch.backends.cuda.matmul.allow_tf32, off by default as there. The CPU ignores it.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace qn::kernels
