#include "core/shape.h"

namespace qn {

std::string SmallDims::str() const {
  std::string s = "[";
  for (int i = 0; i < size_; ++i) {
    if (i) s += ", ";
    s += std::to_string(data_[i]);
  }
  return s + "]";
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides = Strides::filled(shape.size(), 1);
  for (int i = shape.size() - 2; i >= 0; --i) {
    // A size-0 dim makes no element, but the strides of the dims before it still multiply the sizes after it.
    QN_CHECK(!__builtin_mul_overflow(strides[i + 1], std::max<int64_t>(shape[i + 1], 1), &strides[i]), "shape",
             "the strides of ", shape, " overflow 64 bits");
  }
  return strides;
}

int normalize_dim(int64_t dim, int ndim, const char* op) {
  const int64_t rank = std::max(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, as in PyTorch
  QN_CHECK(dim >= -rank && dim < rank, op, "dim ", dim, " out of range for a tensor with ", ndim,
           " dimensions (expected ", -rank, " <= dim < ", rank, ")");
  return static_cast<int>(dim < 0 ? dim + rank : dim);
}

Shape flattened_shape(const Shape& shape, int64_t start_dim, int64_t end_dim) {
  if (shape.empty()) return {1};
  const int start = normalize_dim(start_dim, shape.size(), "flatten");
  const int end = normalize_dim(end_dim, shape.size(), "flatten");
  QN_CHECK(start <= end, "flatten", "start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape out;
  for (int i = 0; i < start; ++i) out.push_back(shape[i]);
  int64_t merged = 1;
  for (int i = start; i <= end; ++i) merged *= shape[i];
  out.push_back(merged);
  for (int i = end + 1; i < shape.size(); ++i) out.push_back(shape[i]);
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.size(), b.size());
  Shape out = Shape::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    QN_CHECK(da == db || da == 1 || db == 1, op, "shapes ", a, " and ", b, " cannot be broadcast together (dim ", i,
             ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace qn
