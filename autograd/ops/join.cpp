// cat / stack / split.  cat's backward hands each input the slice of g it contributed; split is a list
// of narrows, each differentiable on its own.
#include "kernels/join.h"

#include "autograd/ops/op_support.h"

namespace qn {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  Tensor out = kernels::cat(tensors, dim);
  std::vector<int64_t> sizes;
  const int d = normalize_dim(dim, tensors.front().dim(), "cat");
  for (const Tensor& t : tensors) sizes.push_back(t.size(d));
  return record("cat", out, tensors, [sizes, d](const Tensor& g) { return kernels::split(g, sizes, d); });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  QN_CHECK(!tensors.empty(), "stack", "expected at least one tensor");
  const int d = normalize_dim(dim, tensors.front().dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (const Tensor& t : tensors) {
    QN_CHECK(t.shape() == tensors.front().shape(), "stack", "tensor shapes differ: ", t.shape(), " and ",
             tensors.front().shape());
    expanded.push_back(unsqueeze(t, d));
  }
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  std::vector<Tensor> pieces;
  int64_t at = 0;
  for (const Tensor& piece : kernels::split(x.detach(), split_size, dim)) {
    const int64_t length = piece.size(dim);
    pieces.push_back(narrow(x, dim, at, length));
    at += length;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  kernels::split(x.detach(), sizes, dim);  // validates the sizes
  std::vector<Tensor> pieces;
  int64_t at = 0;
  for (int64_t length : sizes) {
    pieces.push_back(narrow(x, dim, at, length));
    at += length;
  }
  return pieces;
}

}  // namespace qn
