// Shape and Strides: a short list of int64 held inline (no heap), since every op makes a few.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace qn {

class SmallDims {
 public:
  static constexpr int kMaxDims = 8;

  SmallDims() = default;
  SmallDims(std::initializer_list<int64_t> values) { assign(values.begin(), values.end()); }
  explicit SmallDims(std::span<const int64_t> values) { assign(values.begin(), values.end()); }
  explicit SmallDims(const std::vector<int64_t>& values) { assign(values.begin(), values.end()); }
  // n copies of value.
  static SmallDims filled(int n, int64_t value) {
    SmallDims d;
    for (int i = 0; i < n; ++i) d.push_back(value);
    return d;
  }

  int size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t& operator[](int i) { return data_[i]; }
  int64_t operator[](int i) const { return data_[i]; }
  int64_t* begin() { return data_.data(); }
  int64_t* end() { return data_.data() + size_; }
  const int64_t* begin() const { return data_.data(); }
  const int64_t* end() const { return data_.data() + size_; }
  const int64_t* data() const { return data_.data(); }
  int64_t back() const { return data_[size_ - 1]; }

  void push_back(int64_t value) {
    QN_CHECK(size_ < kMaxDims, "Shape", "tensors have at most ", kMaxDims, " dimensions");
    data_[size_++] = value;
  }
  void insert(int pos, int64_t value) {
    push_back(0);
    std::copy_backward(begin() + pos, end() - 1, end());
    data_[pos] = value;
  }
  void erase(int pos) {
    std::copy(begin() + pos + 1, end(), begin() + pos);
    --size_;
  }
  void pop_back() { --size_; }

  // Product of the entries (1 for an empty list): a shape's number of elements.
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t v : *this) n *= v;
    return n;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  std::string str() const;

  friend bool operator==(const SmallDims& a, const SmallDims& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  template <class It>
  void assign(It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }
  std::array<int64_t, kMaxDims> data_{};
  int size_ = 0;
};

using Shape = SmallDims;
using Strides = SmallDims;

inline std::ostream& operator<<(std::ostream& out, const SmallDims& d) { return out << d.str(); }

// Row-major (C-order) strides of a shape, in elements.
Strides contiguous_strides(const Shape& shape);

// A dim index that may be negative (counted from the end) made positive; checks 0 <= dim < ndim.
int normalize_dim(int64_t dim, int ndim, const char* op);

// shape with dims start_dim..end_dim (inclusive, negative counts from the end) merged into one; a 0-d shape
// flattens to [1].
Shape flattened_shape(const Shape& shape, int64_t start_dim, int64_t end_dim);

// NumPy broadcasting of two shapes; throws naming op when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace qn
