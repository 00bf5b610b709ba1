// Views and shape ops. Forward shares storage; backward maps the gradient back onto the input's shape.
// The core Tensor methods of the same names are untracked; these record the graph.
#include <numeric>

#include "autograd/ops/op_support.h"
#include "kernels/reduce.h"

namespace qn {

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int lead = x.dim() - shape.size();
  QN_CHECK(lead >= 0, "sum_to", "cannot reduce ", x.describe(), " to the larger shape ", shape);
  std::vector<int64_t> dims;
  for (int i = 0; i < x.dim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) dims.push_back(i);
  }
  return reshape(sum(x, dims, true), shape);
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  return record("reshape", x.detach().reshape(shape), {x},
                [in = x.shape()](const Tensor& g) { return Grads{g.reshape(in)}; });
}

Tensor view(const Tensor& x, const Shape& shape) {
  return record("view", x.detach().view(shape), {x},
                [in = x.shape()](const Tensor& g) { return Grads{g.reshape(in)}; });
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  return reshape(x, flattened_shape(x.shape(), start_dim, end_dim));
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  return record("transpose", x.detach().transpose(dim0, dim1), {x},
                [dim0, dim1](const Tensor& g) { return Grads{g.transpose(dim0, dim1)}; });
}

// out = x.permute(p);  dx = g.permute(inverse of p)
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor out = x.detach().permute(dims);
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    inverse[normalize_dim(dims[i], x.dim(), "permute")] = static_cast<int64_t>(i);
  return record("permute", out, {x}, [inverse](const Tensor& g) { return Grads{g.permute(inverse)}; });
}

// dx = zeros with g written into the narrowed window
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  Tensor out = x.detach().narrow(dim, start, length);
  const int64_t resolved_start = start < 0 ? start + x.size(dim) : start;
  return record("narrow", out, {x},
                [in = x.options(), shape = x.shape(), dim, resolved_start, length](const Tensor& g) {
                  Tensor dx = zeros(shape, in);
                  dx.narrow(dim, resolved_start, length).copy_(g);
                  return Grads{dx};
                });
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  Tensor out = x.detach().select(dim, index);
  return record("select", out, {x}, [in = x.options(), shape = x.shape(), dim, index](const Tensor& g) {
    Tensor dx = zeros(shape, in);
    dx.select(dim, index).copy_(g);
    return Grads{dx};
  });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  return record("expand", x.detach().expand(shape), {x},
                [in = x.shape()](const Tensor& g) { return Grads{sum_to(g, in)}; });
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  return record("squeeze", x.detach().squeeze(dim), {x},
                [in = x.shape()](const Tensor& g) { return Grads{g.reshape(in)}; });
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  return record("unsqueeze", x.detach().unsqueeze(dim), {x},
                [in = x.shape()](const Tensor& g) { return Grads{g.reshape(in)}; });
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return record("contiguous", x.contiguous(), {x}, [](const Tensor& g) { return Grads{g}; });
}

}  // namespace qn
