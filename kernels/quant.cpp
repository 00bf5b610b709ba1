// Scalar quantization entry points.
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/device_check.h"
#include "kernels/elementwise.h"
#include "kernels/index.h"
#include "kernels/matmul.h"
#include "kernels/reduce.h"

namespace qn::kernels {
namespace {

void check_params(const char* op, const Tensor& x, const QParams& q) {
  QN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, "expected a f32 or f64 tensor, got ", x.describe());
  QN_CHECK(q.bits >= 1 && q.bits <= 16, op, "bits must lie in [1, 16], got ", q.bits);
  QN_CHECK(!q.scale.empty() && q.scale.size() == q.zero_point.size(), op, "need as many scales as zero points (",
           q.scale.size(), " and ", q.zero_point.size(), ")");
  const int64_t channels = x.dim() == 0 ? 1 : x.size(0);
  QN_CHECK(!q.per_channel() || static_cast<int64_t>(q.scale.size()) == channels, op, "per-channel parameters for ",
           q.scale.size(), " channels, but the tensor has ", channels, " along dim 0");
}

}  // namespace

Tensor fake_quantize(const Tensor& x, const QParams& q) { return scalar_quant_noise(x, q, Tensor(), 1.0).value; }

ScalarNoise scalar_quant_noise(const Tensor& x, const QParams& q, const Tensor& uniform, double p) {
  check_params("scalar_quant_noise", x, q);
  QN_CHECK(!uniform.defined() || (uniform.shape() == x.shape() && uniform.dtype() == DType::f32), "scalar_quant_noise",
           "the uniform draws must be f32 of the input's shape ", x.shape(), ", got ", uniform.describe());
  const Device device = common_device("scalar_quant_noise", {&x, &uniform});
  const Tensor input = x.contiguous();
  const Tensor draws = uniform.defined() ? uniform.contiguous() : uniform;
  ScalarNoise out{empty(x.shape(), x.options()), empty(x.shape(), TensorOptions(DType::u8, device))};
  device.is_cuda() ? cuda::scalar_quant_noise(input, q, draws, p, out.value, out.pass)
                   : cpu::scalar_quant_noise(input, q, draws, p, out.value, out.pass);
  return out;
}

Tensor nearest_centroid(const Tensor& points, const Tensor& centroids, int64_t chunk_scores) {
  const Device device = common_device("nearest_centroid", {&points, &centroids});
  QN_CHECK(points.dim() == 2 && centroids.dim() == 2 && points.size(1) == centroids.size(1) && centroids.size(0) > 0,
           "nearest_centroid", "expected points (N, d) and centroids (K, d), got ", points.describe(), " and ",
           centroids.describe());
  require_same_dtype("nearest_centroid", points, centroids);
  QN_CHECK(points.dtype() == DType::f32 || points.dtype() == DType::f64, "nearest_centroid",
           "expected f32 or f64, got ", points.describe());
  QN_CHECK(chunk_scores > 0, "nearest_centroid", "chunk_scores must be positive, got ", chunk_scores);
  Tensor out = empty({points.size(0)}, TensorOptions(DType::i64, device));
  if (device.is_accelerator()) {  // the same scores, argmax_k (2 x.c_k - ||c_k||^2), from the device's GEMM
    const Tensor norms = sum(binary(BinaryOp::mul, centroids, centroids), {1});  // (K)
    const int64_t rows = std::max<int64_t>(1, chunk_scores / centroids.size(0));
    for (int64_t begin = 0; begin < points.size(0); begin += rows) {
      const int64_t n = std::min(rows, points.size(0) - begin);
      const Tensor dots = matmul(points.narrow(0, begin, n), centroids.t());  // (n, K)
      out.narrow(0, begin, n).copy_(argmax(binary(BinaryOp::sub, binary(BinaryOp::mul, dots, 2.0), norms), 1));
    }
    return out;
  }
  cpu::nearest_centroid(points.contiguous(), centroids.contiguous(), out);
  return out;
}

double assignment_error(const Tensor& points, const Tensor& centroids, const Tensor& assignments, int64_t chunk_rows) {
  const Device device = common_device("assignment_error", {&points, &centroids, &assignments});
  QN_CHECK(points.dim() == 2 && centroids.dim() == 2 && points.size(1) == centroids.size(1) &&
               assignments.dtype() == DType::i64 && assignments.numel() == points.size(0),
           "assignment_error", "expected points (N, d), centroids (K, d) and i64 assignments (N), got ",
           points.describe(), ", ", centroids.describe(), ", ", assignments.describe());
  require_same_dtype("assignment_error", points, centroids);
  QN_CHECK(chunk_rows > 0, "assignment_error", "chunk_rows must be positive, got ", chunk_rows);
  if (device.is_accelerator()) {
    // In f64, as the CPU accumulates, chunk_rows blocks at a time (the codes are checked by index_select, on the
    // device); one read of the total.
    Tensor total = zeros({}, TensorOptions(DType::f64, device));
    for (int64_t begin = 0; begin < points.size(0); begin += chunk_rows) {
      const int64_t n = std::min(chunk_rows, points.size(0) - begin);
      const Tensor diff =
          binary(BinaryOp::sub, index_select(centroids, 0, assignments.narrow(0, begin, n)).to(DType::f64),
                 points.narrow(0, begin, n).to(DType::f64));
      binary_out(BinaryOp::add, total, sum(binary(BinaryOp::mul, diff, diff)), total);
    }
    return std::sqrt(total.item<double>());
  }
  const Tensor a = assignments.contiguous();
  const int64_t* codes = a.data_ptr<int64_t>();
  for (int64_t i = 0; i < a.numel(); ++i) {
    QN_CHECK(codes[i] >= 0 && codes[i] < centroids.size(0), "assignment_error", "assignment ", codes[i],
             " is not a centroid of ", centroids.size(0));
  }
  return cpu::assignment_error(points.contiguous(), centroids.contiguous(), a);
}

MinMax min_max(const Tensor& x, bool per_channel) {
  QN_CHECK(x.numel() > 0, "min_max", "empty tensor");
  QN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "min_max", "expected a f32 or f64 tensor, got ",
           x.describe());
  if (x.device().is_accelerator()) {  // amin and amax over each channel's run, read back as f32
    const int64_t channels = per_channel ? std::max<int64_t>(x.dim() == 0 ? 1 : x.size(0), 1) : 1;
    const Tensor runs = x.reshape({channels, -1});
    const Tensor lo = amin(runs, {1}).to(DType::f32).to(Device::cpu()),
                 hi = amax(runs, {1}).to(DType::f32).to(Device::cpu());
    return {std::vector<float>(lo.data_ptr<float>(), lo.data_ptr<float>() + channels),
            std::vector<float>(hi.data_ptr<float>(), hi.data_ptr<float>() + channels)};
  }
  return cpu::min_max(x.contiguous(), per_channel);
}

}  // namespace qn::kernels
