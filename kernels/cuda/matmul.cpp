// CUDA matmul on cuBLAS. cuBLAS is column-major: the row-major product C (M, N) = A (M, K) B (K, N) is, read
// column-major, C^T (N, M) = B^T (N, K) A^T (K, M), so B goes first and nothing is transposed in memory. A batch is
// one strided-batched call when each operand's matrices lie a fixed stride apart (contiguous batches, or an
// operand broadcast over the batch with stride 0); any other operand is made contiguous first.
#include "kernels/matmul.h"

#include <cublas_v2.h>

#include <limits>
#include <optional>

#include "core/cuda_memory.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/library_support.h"
#include "kernels/gemm_layout.h"

namespace qn::kernels::cuda {
namespace {

void check_cublas(cublasStatus_t status, const char* call) {
  QN_CHECK(status == CUBLAS_STATUS_SUCCESS, "matmul", call, " failed: ", cublasGetStatusString(status));
}

// The device's cuBLAS handle, bound to its stream.
cublasHandle_t handle(int device) {
  return per_device_handle<cublasHandle_t>(device, [device] {
    cublasHandle_t h = nullptr;
    check_cublas(cublasCreate(&h), "cublasCreate");
    check_cublas(cublasSetStream(h, static_cast<cudaStream_t>(::qn::cuda::stream(device))), "cublasSetStream");
    return h;
  });
}

// The distance between consecutive matrices of t's batch (its dims before the last two, in row-major order), when
// one stride covers the whole batch.
std::optional<int64_t> batch_stride(const Tensor& t) {
  std::optional<int64_t> stride;
  int64_t matrices = 1;  // matrices the dims walked so far cover
  for (int i = t.dim() - 3; i >= 0; --i) {
    if (t.size(i) == 1) continue;
    if (!stride) {
      stride = t.stride(i);
    } else if (t.stride(i) != *stride * matrices) {
      return std::nullopt;
    }
    matrices *= t.size(i);
  }
  return stride.value_or(0);
}

int as_int(int64_t v, const char* what) {
  QN_CHECK(v <= std::numeric_limits<int>::max(), "matmul", what, " ", v, " exceeds cuBLAS's 32-bit sizes");
  return static_cast<int>(v);
}

}  // namespace

void matmul(const Tensor& a_in, const Tensor& b_in, Tensor& out) {
  const int d = out.dim();
  const int64_t m = out.size(d - 2), n = out.size(d - 1), k = a_in.size(d - 1);
  if (out.numel() == 0) return;
  if (k == 0) {
    out.zero_();
    return;
  }
  Tensor a = gemm_ready(a_in), b = gemm_ready(b_in);
  std::optional<int64_t> stride_a = batch_stride(a), stride_b = batch_stride(b);
  if (!stride_a) {
    a = a.contiguous();
    stride_a = m * k;
  }
  if (!stride_b) {
    b = b.contiguous();
    stride_b = k * n;
  }
  const MatrixLayout la = gemm_layout(a), lb = gemm_layout(b);
  const int64_t batch = out.numel() / (m * n);
  const int device = out.device().index;
  ::qn::cuda::DeviceGuard guard(device);
  cublasHandle_t h = handle(device);
  const cublasOperation_t op_b = lb.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = la.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  // 16-bit operands accumulate in f32 and the product is rounded once, as on the CPU (kernels/half_precision.h).
  cudaDataType_t type = CUDA_R_32F;
  cublasComputeType_t compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  if (out.dtype() == DType::f64) {
    type = CUDA_R_64F;
    compute = CUBLAS_COMPUTE_64F;
  } else if (out.dtype() == DType::bf16 || out.dtype() == DType::f16) {
    type = out.dtype() == DType::bf16 ? CUDA_R_16BF : CUDA_R_16F;
    compute = CUBLAS_COMPUTE_32F;
  }
  const BlendScalars blend(out.dtype());
  check_cublas(
      cublasGemmStridedBatchedEx(h, op_b, op_a, as_int(n, "N"), as_int(m, "M"), as_int(k, "K"), blend.one(),
                                 b.device_data(), type, as_int(lb.ld, "ldb"), *stride_b, a.device_data(), type,
                                 as_int(la.ld, "lda"), *stride_a, blend.zero(), out.device_data(), type,
                                 as_int(n, "ldc"), m * n, as_int(batch, "batch"), compute, CUBLAS_GEMM_DEFAULT),
      "cublasGemmStridedBatchedEx");
}

}  // namespace qn::kernels::cuda
