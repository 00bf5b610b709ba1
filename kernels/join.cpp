// cat, stack and split. Device-agnostic: cat copies each input into a narrow() view of the output.
#include "kernels/join.h"

#include "kernels/device_check.h"

namespace qn::kernels {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  QN_CHECK(!tensors.empty(), "cat", "expected at least one tensor");
  const Tensor& first = tensors.front();
  QN_CHECK(first.dim() > 0, "cat", "zero-dimensional tensors cannot be concatenated");
  const int d = normalize_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    require_same_dtype("cat", first, t);
    QN_CHECK(t.device() == first.device(), "cat", "tensor ", i, " is on ", t.device(), ", tensor 0 on ",
             first.device());
    bool same = t.dim() == first.dim();
    for (int k = 0; same && k < t.dim(); ++k) same = k == d || t.shape()[k] == first.shape()[k];
    QN_CHECK(same, "cat", "tensor ", i, " has shape ", t.shape(), ", which differs from tensor 0's ", first.shape(),
             " outside dim ", d);
    shape[d] += t.shape()[d];
  }
  Tensor out = empty(shape, first.options());
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    out.narrow(d, at, t.shape()[d]).copy_(t);
    at += t.shape()[d];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  QN_CHECK(!tensors.empty(), "stack", "expected at least one tensor");
  const int d = normalize_dim(dim, tensors.front().dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    QN_CHECK(tensors[i].shape() == tensors.front().shape(), "stack", "tensor ", i, " has shape ", tensors[i].shape(),
             ", tensor 0 has ", tensors.front().shape());
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  const int d = normalize_dim(dim, x.dim(), "split");
  QN_CHECK(split_size > 0 || x.size(d) == 0, "split", "split_size must be positive, got ", split_size);
  std::vector<Tensor> pieces;
  for (int64_t at = 0; at < x.size(d); at += split_size) {
    pieces.push_back(x.narrow(d, at, std::min(split_size, x.size(d) - at)));
  }
  if (pieces.empty()) pieces.push_back(x);
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  const int d = normalize_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    QN_CHECK(s >= 0, "split", "negative size ", s, " in split sizes");
    total += s;
  }
  QN_CHECK(total == x.size(d), "split", "sizes add up to ", total, " but dim ", dim, " of ", x.describe(), " has ",
           x.size(d));
  std::vector<Tensor> pieces;
  int64_t at = 0;
  for (int64_t s : sizes) {
    pieces.push_back(x.narrow(d, at, s));
    at += s;
  }
  return pieces;
}

}  // namespace qn::kernels
