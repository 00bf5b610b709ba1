// Reductions. The gradient of a reduction is spread back over the reduced dims: g (kept shape) is
// unsqueezed where dims were dropped, then expanded to x's shape.
#include "kernels/reduce.h"

#include <algorithm>
#include <numeric>

#include "autograd/ops/op_support.h"
#include "kernels/elementwise.h"

namespace qn {

namespace {

std::vector<int64_t> resolved_dims(const std::vector<int64_t>& dims, int ndim) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int d = 0; d < ndim; ++d) out.push_back(d);
  } else {
    for (int64_t d : dims) out.push_back(normalize_dim(d, ndim, "reduce"));
  }
  std::sort(out.begin(), out.end());
  return out;
}

int64_t reduced_count(const Shape& shape, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= shape[d];
  return n;
}

// g with the reduced dims restored as size 1 (a no-op with keepdim), broadcastable against x.
Tensor with_kept_dims(const Tensor& g, const Shape& x_shape, const std::vector<int64_t>& dims, bool keepdim) {
  if (keepdim || x_shape.empty()) return g;
  Tensor out = g;
  for (int64_t d : dims) out = out.unsqueeze(d);
  return out;
}

}  // namespace

// dx = g broadcast over the reduced dims
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return record("sum", kernels::sum(x, dims, keepdim), {x},
                [shape = x.shape(), rd = resolved_dims(dims, x.dim()), keepdim](const Tensor& g) {
                  return Grads{with_kept_dims(g, shape, rd, keepdim).expand(shape)};
                });
}

// dx = g / count, broadcast: divided at g's size, then expanded as a view (no tensor of x's size is written;
// whoever adds it into a gradient reads the view)
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const std::vector<int64_t> rd = resolved_dims(dims, x.dim());
  const double count = static_cast<double>(reduced_count(x.shape(), rd));
  return record("mean", kernels::mean(x, dims, keepdim), {x}, [shape = x.shape(), rd, keepdim, count](const Tensor& g) {
    return Grads{kernels::binary(kernels::BinaryOp::div, with_kept_dims(g, shape, rd, keepdim), count).expand(shape)};
  });
}

// dx = g / (number of maxima) at each maximum, 0 elsewhere
static Tensor extremum(const char* name, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool max) {
  Tensor out = max ? kernels::amax(x, dims, keepdim) : kernels::amin(x, dims, keepdim);
  if (!needs_graph({x})) return out;
  const std::vector<int64_t> rd = resolved_dims(dims, x.dim());
  return record(name, out, {x}, [sx = SavedTensor(x), so = SavedTensor(out), rd, keepdim](const Tensor& g) {
    const Tensor& v = sx.get();
    const Tensor hit =
        kernels::compare(kernels::CompareOp::eq, v, with_kept_dims(so.get(), v.shape(), rd, keepdim)).to(v.dtype());
    const Tensor count = kernels::sum(hit, rd, true);
    const Tensor share = kernels::div(with_kept_dims(g, v.shape(), rd, keepdim), count);
    return Grads{kernels::mul(hit, share)};
  });
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extremum("amax", x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extremum("amin", x, dims, keepdim, false);
}

// dx = g * 2 (x - mean) / (count - correction)
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  Tensor out = kernels::var(x, dims, correction, keepdim);
  if (!needs_graph({x})) return out;
  const std::vector<int64_t> rd = resolved_dims(dims, x.dim());
  const double divisor = static_cast<double>(std::max<int64_t>(reduced_count(x.shape(), rd) - correction, 0));
  return record("var", out, {x}, [sx = SavedTensor(x), dims, rd, keepdim, divisor](const Tensor& g) {
    const Tensor& v = sx.get();
    const Tensor centered = kernels::sub(v, kernels::mean(v, dims, true));
    return Grads{kernels::mul(kernels::binary(kernels::BinaryOp::mul, centered, 2.0 / divisor),
                              with_kept_dims(g, v.shape(), rd, keepdim))};
  });
}

}  // namespace qn
