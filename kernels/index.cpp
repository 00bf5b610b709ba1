// Indexing entry points: shape rules and index bounds checks (before any write), then dispatch.
#include "kernels/index.h"

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/determinism.h"
#include "kernels/device_check.h"
#include "kernels/half_precision.h"

namespace qn::kernels {
namespace {

// Every index in [0, size), else an error naming the first offender. The host checks indices it holds: a CPU
// tensor, or a device tensor copied from the host (a batch's ids, through its mirror). Indices a device computed are
// not read back: the device checks them as its kernel follows them (CUDA's kernels trap, kernels/cuda/index.cu),
// and the simulated device's kernel here checks its own memory.
void check_bounds(const Tensor& index, int64_t size, const char* op) {
  const bool on_host = index.device().is_cpu() || index.storage().host_mirror().defined();
  if (!on_host && !index.device().is_sim()) return;
  const Tensor idx = (on_host ? index.to_host() : index).contiguous();
  visit_index(idx.dtype(), op, [&](auto tag) {
    using I = typename decltype(tag)::type;
    const I* p = idx.device_ptr<I>();
    for (int64_t i = 0; i < idx.numel(); ++i) {
      QN_CHECK(p[i] >= 0 && p[i] < size, op, "index ", static_cast<int64_t>(p[i]), " at position ", i,
               " is out of range for a dim of size ", size);
    }
  });
}

// gather/scatter_add shape rule: same ndim, index.size(d) <= x.size(d) for every d != dim.
void check_gather_shapes(const Tensor& x, int dim, const Tensor& index, const char* op) {
  QN_CHECK(index.dim() == x.dim(), op, "index ", index.describe(), " must have as many dims as ", x.describe());
  for (int d = 0; d < x.dim(); ++d) {
    QN_CHECK(d == dim || index.shape()[d] <= x.shape()[d], op, "index ", index.describe(), " is larger than ",
             x.describe(), " in dim ", d);
  }
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  const Device device = common_device("index_select", {&x, &index});
  const int d = normalize_dim(dim, x.dim(), "index_select");
  QN_CHECK(index.dim() <= 1, "index_select", "index must be 1-D, got ", index.describe());
  const Tensor source = x.dim() == 0 ? x.reshape({1}) : x;
  check_bounds(index, source.shape()[d], "index_select");
  Shape shape = source.shape();
  shape[d] = index.numel();
  Tensor out = empty(shape, x.options());
  const Tensor flat_index = index.reshape({-1}).contiguous();
  device.is_cuda() ? cuda::index_select(source.contiguous(), d, flat_index, out)
                   : cpu::index_select(source.contiguous(), d, flat_index, out);
  return x.dim() == 0 ? out.reshape({}) : out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  QN_CHECK(weight.dim() == 2, "embedding", "weight must be (num_embeddings, dim), got ", weight.describe());
  Shape shape = indices.shape();
  shape.push_back(weight.size(1));
  return index_select(weight, 0, indices.reshape({-1})).view(shape);
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  const Device device = common_device("gather", {&x, &index});
  const int d = normalize_dim(dim, x.dim(), "gather");
  check_gather_shapes(x, d, index, "gather");
  check_bounds(index, x.dim() ? x.shape()[d] : 1, "gather");
  Tensor out = empty(index.shape(), x.options());
  device.is_cuda() ? cuda::gather(x, d, index, out) : cpu::gather(x, d, index, out);
  return out;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  const Device device = common_device("scatter_add", {&self, &index, &src});
  require_same_dtype("scatter_add", self, src);
  const int d = normalize_dim(dim, self.dim(), "scatter_add");
  check_gather_shapes(self, d, index, "scatter_add");
  check_gather_shapes(src, -1, index, "scatter_add");
  check_bounds(index, self.dim() ? self.shape()[d] : 1, "scatter_add");
  if (is_half(self.dtype())) return scatter_add(widened(self), dim, index, widened(src)).to(self.dtype());  // f32 sums
  Tensor out = self.clone();
  device.is_cuda() ? cuda::scatter_add(d, index, src, out) : cpu::scatter_add(d, index, src, out);
  return out;
}

Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  const Device device = common_device("index_add", {&self, &index, &src});
  require_same_dtype("index_add", self, src);
  const int d = normalize_dim(dim, self.dim(), "index_add");
  QN_CHECK(index.dim() <= 1, "index_add", "index must be 1-D, got ", index.describe());
  Shape expected = self.shape();
  if (self.dim() > 0) expected[d] = index.numel();
  QN_CHECK(src.shape() == expected, "index_add", "source ", src.describe(), " must have shape ", expected);
  check_bounds(index, self.dim() ? self.shape()[d] : 1, "index_add");
  if (is_half(self.dtype())) return index_add(widened(self), dim, index, widened(src)).to(self.dtype());  // f32 sums
  Tensor out = self.contiguous().clone();
  const Tensor flat_index = index.reshape({-1}).contiguous();
  device.is_cuda() ? cuda::index_add(d, flat_index, src.contiguous(), out, deterministic_algorithms())
                   : cpu::index_add(d, flat_index, src.contiguous(), out);
  return out;
}

}  // namespace qn::kernels
