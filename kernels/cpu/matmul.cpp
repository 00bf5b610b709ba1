// CPU matmul on OpenBLAS. Each operand matrix is described to GEMM by a transpose flag and a leading
// dimension read off its strides; batches are a loop (parallel over batches when each GEMM is small),
// and a batch that only repeats the left operand's rows is folded into one tall GEMM.
#include <cblas.h>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/gemm_layout.h"
#include "kernels/threading.h"

namespace qn::kernels::cpu {

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

namespace {

// GEMMs smaller than this run one per thread instead of one threaded GEMM at a time.
constexpr int64_t kSmallGemmFlops = int64_t{2} * 192 * 192 * 192;

template <class T>
void matmul_typed(const Tensor& a_in, const Tensor& b_in, Tensor& out) {
  const Tensor a = gemm_ready(a_in);
  const Tensor b = gemm_ready(b_in);
  const int d = out.dim();
  const int64_t m = out.shape()[d - 2];
  const int64_t n = out.shape()[d - 1];
  const int64_t k = a.shape()[d - 1];
  T* c = out.device_ptr<T>();
  if (out.numel() == 0) return;
  if (k == 0) {
    out.zero_();
    return;
  }
  sync_blas_threads();
  const MatrixLayout la = gemm_layout(m, k, a.strides()[d - 2], a.strides()[d - 1]);
  const MatrixLayout lb = gemm_layout(k, n, b.strides()[d - 2], b.strides()[d - 1]);
  const int64_t batch = out.numel() / (m * n);

  // Fold the batch into M when b is shared by every batch and a's rows are evenly spaced through the batch.
  bool b_shared = true;
  bool a_rows_even = !la.trans;
  int64_t expected = a.strides()[d - 2] * m;
  for (int i = d - 3; i >= 0; --i) {
    b_shared = b_shared && (b.strides()[i] == 0 || b.shape()[i] == 1);
    a_rows_even = a_rows_even && (a.shape()[i] == 1 || a.strides()[i] == expected);
    expected *= a.shape()[i];
  }
  if (batch > 1 && m > 1 && b_shared && a_rows_even) {
    gemm<T>(false, lb.trans, batch * m, n, k, T(1), a.device_ptr<T>(), la.ld, b.device_ptr<T>(), lb.ld, T(0), c, n);
    return;
  }

  // Offsets of batch i's matrices in a and b.
  auto batch_offset = [&](const Tensor& t, int64_t i) {
    int64_t offset = 0;
    for (int dim = d - 3; dim >= 0; --dim) {
      offset += (i % out.shape()[dim]) * t.strides()[dim];
      i /= out.shape()[dim];
    }
    return offset;
  };
  const T* pa = a.device_ptr<T>();
  const T* pb = b.device_ptr<T>();
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      gemm<T>(la.trans, lb.trans, m, n, k, T(1), pa + batch_offset(a, i), la.ld, pb + batch_offset(b, i), lb.ld, T(0),
              c + i * m * n, n);
    }
  };
  if (2 * m * n * k < kSmallGemmFlops) {
    parallel_for(0, batch, 1, run);  // OpenBLAS runs single-threaded inside an OpenMP region
  } else {
    run(0, batch);
  }
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, Tensor& out) {
  visit_floating(a.dtype(), "matmul", [&](auto tag) { matmul_typed<typename decltype(tag)::type>(a, b, out); });
}

}  // namespace qn::kernels::cpu
