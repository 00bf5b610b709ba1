// Indexing ops; their backward scatters g back with the adjoint kernel:
//   index_select -> index_add,  embedding -> index_add over rows,  gather -> scatter_add.
#include "kernels/index.h"

#include "autograd/ops/op_support.h"

namespace qn {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor out = kernels::index_select(x, dim, index);
  if (!needs_graph({x})) return out;
  return record("index_select", out, {x},
                [si = SavedTensor(index), shape = x.shape(), options = x.options(), dim](const Tensor& g) {
                  return Grads{kernels::index_add(zeros(shape, options), dim, si.get(), g)};
                });
}

// weight (V, D), indices (...) -> (..., D);  dweight[v] = sum of g rows whose index is v (0 for padding_idx)
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx) {
  Tensor out = kernels::embedding(weight, indices);
  if (!needs_graph({weight})) return out;
  return record(
      "embedding", out, {weight},
      [si = SavedTensor(indices), shape = weight.shape(), options = weight.options(), padding_idx](const Tensor& g) {
        Tensor dw = kernels::index_add(zeros(shape, options), 0, si.get().reshape({-1}), g.reshape({-1, shape[1]}));
        if (padding_idx) dw.select(0, *padding_idx).zero_();
        return Grads{dw};
      });
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor out = kernels::gather(x, dim, index);
  if (!needs_graph({x})) return out;
  return record("gather", out, {x},
                [si = SavedTensor(index), shape = x.shape(), options = x.options(), dim](const Tensor& g) {
                  return Grads{kernels::scatter_add(zeros(shape, options), dim, si.get(), g)};
                });
}

}  // namespace qn
