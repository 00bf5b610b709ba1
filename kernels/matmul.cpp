// Matmul entry points: NumPy's rules for 1-D operands and batch broadcasting, then one CPU call.
#include "kernels/matmul.h"

#include <atomic>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"
#include "kernels/elementwise.h"
#include "kernels/half_precision.h"
#include "kernels/threading.h"

namespace qn::kernels {
namespace {

std::atomic<bool> g_allow_tf32{false};

}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }

Tensor matmul(const Tensor& a, const Tensor& b) {
  const Device device = common_device("matmul", {&a, &b});
  require_same_dtype("matmul", a, b);
  QN_CHECK(is_floating(a.dtype()), "matmul", "expected floating operands, got ", a.describe());
  // 16-bit operands: cuBLAS takes them as they are; the CPU widens them. Either way f32 accumulation, one rounding.
  if (is_half(a.dtype()) && !device.is_cuda()) return matmul(widened(a), widened(b)).to(a.dtype());
  QN_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul", "operands must have at least one dim, got ", a.describe(), " and ",
           b.describe());
  // Promote 1-D operands: a vector on the left is a row (1, K), on the right a column (K, 1).
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  const int64_t m = a2.size(-2);
  const int64_t k = a2.size(-1);
  const int64_t n = b2.size(-1);
  QN_CHECK(b2.size(-2) == k, "matmul", "shapes ", a.shape(), " and ", b.shape(),
           " cannot be multiplied (expected a.size(-1) == b.size(-2), got ", k, " and ", b2.size(-2), ")");

  const Shape a_batch(std::span<const int64_t>(a2.shape().data(), a2.dim() - 2));
  const Shape b_batch(std::span<const int64_t>(b2.shape().data(), b2.dim() - 2));
  Shape out_shape = broadcast_shapes(a_batch, b_batch, "matmul");
  Shape a_target = out_shape;
  a_target.push_back(m);
  a_target.push_back(k);
  Shape b_target = out_shape;
  b_target.push_back(k);
  b_target.push_back(n);
  out_shape.push_back(m);
  out_shape.push_back(n);

  Tensor out = empty(out_shape, a.options());
  device.is_cuda() ? cuda::matmul(a2.expand(a_target), b2.expand(b_target), out)
                   : cpu::matmul(a2.expand(a_target), b2.expand(b_target), out);

  // Remove the dims added for 1-D operands.
  if (a.dim() == 1 && b.dim() == 1) return out.view({});
  if (a.dim() == 1) return out.squeeze(-2);
  if (b.dim() == 1) return out.squeeze(-1);
  return out;
}

Tensor linear(const Tensor& rows, const Tensor& weight, const Tensor& bias) {
  QN_CHECK(rows.dim() == 2 && weight.dim() == 2 && rows.size(1) == weight.size(1) &&
               (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0))),
           "linear", "expected rows (M, K), weight (N, K) and bias (N), got ", rows.describe(), ", ", weight.describe(),
           bias.defined() ? ", " + bias.describe() : std::string());
  const bool cpu_float = !rows.device().is_cuda() && (rows.dtype() == DType::f32 || rows.dtype() == DType::f64);
  if (!bias.defined() || !cpu_float) {
    const Tensor y = matmul(rows, weight.transpose(0, 1));
    return bias.defined() ? binary(BinaryOp::add, y, bias) : y;
  }
  const Device device = common_device("linear", {&rows, &weight, &bias});
  require_same_dtype("linear", rows, weight);
  require_same_dtype("linear", rows, bias);
  const Tensor x = rows.contiguous();
  const Tensor w = weight.contiguous();
  const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  Tensor out = empty({m, n}, TensorOptions(x.dtype(), device));
  out.copy_(bias.expand({m, n}));
  if (m == 0 || n == 0 || k == 0) return out;
  sync_blas_threads();
  visit_floating(x.dtype(), "linear", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::gemm<T>(false, true, m, n, k, T(1), x.device_ptr<T>(), k, w.device_ptr<T>(), k, T(1), out.device_ptr<T>(), n);
  });
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  QN_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0), "bmm",
           "expected (B, M, K) and (B, K, N) with one B, got ", a.describe(), " and ", b.describe());
  return matmul(a, b);
}

}  // namespace qn::kernels
