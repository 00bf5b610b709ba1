// Tensor factories: empty, zeros, ones, full, arange, linspace, from_vector, scalar_tensor.
#include <cmath>
#include <limits>

#include "core/convert.h"
#include "core/tensor.h"

namespace qn {

Tensor empty(const Shape& shape, TensorOptions options) {
  int64_t numel = 1;
  for (int64_t s : shape) {
    QN_CHECK(s >= 0, "empty", "negative size in shape ", shape);
    QN_CHECK(
        s == 0 || numel <= std::numeric_limits<int64_t>::max() / static_cast<int64_t>(dtype_size(options.dtype)) / s,
        "empty", "shape ", shape, " of ", options.dtype, " overflows the addressable size");
    numel *= s;
  }
  Storage storage = Storage::allocate(static_cast<size_t>(numel) * dtype_size(options.dtype), options.device);
  return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), options.dtype);
}

Tensor full(const Shape& shape, double value, TensorOptions options) {
  Tensor t = empty(shape, options);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.options()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.options()); }
Tensor scalar_tensor(double value, TensorOptions options) { return full(Shape{}, value, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  QN_CHECK(step != 0 && std::isfinite(start) && std::isfinite(end) && std::isfinite(step), "arange",
           "expected finite start, end and a non-zero step, got (", start, ", ", end, ", ", step, ")");
  QN_CHECK((end - start) / step >= 0 || start == end, "arange", "step ", step, " moves away from end ", end, " (start ",
           start, ")");
  const int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  return detail::tensor_from_index({std::max<int64_t>(n, 0)}, options,
                                   [&](int64_t i) { return start + static_cast<double>(i) * step; });
}

Tensor arange(int64_t end, TensorOptions options) { return arange(0.0, static_cast<double>(end), 1.0, options); }

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  QN_CHECK(steps >= 0, "linspace", "number of steps must be non-negative, got ", steps);
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Like PyTorch, the second half counts back from end so both endpoints are exact.
  const int64_t half = steps / 2;
  return detail::tensor_from_index({steps}, options, [&](int64_t i) {
    if (steps == 1) return start;
    return i < half ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
  });
}

template <class T>
Tensor from_vector(std::span<const T> values, const Shape& shape) {
  const Shape resolved = shape.empty() && values.size() != 1 ? Shape{static_cast<int64_t>(values.size())} : shape;
  QN_CHECK(resolved.numel() == static_cast<int64_t>(values.size()), "from_vector", "shape ", resolved, " needs ",
           resolved.numel(), " values, got ", values.size());
  Tensor out = empty(resolved, dtype_of<T>);
  std::copy(values.begin(), values.end(), out.data_ptr<T>());
  return out;
}
template Tensor from_vector<float>(std::span<const float>, const Shape&);
template Tensor from_vector<double>(std::span<const double>, const Shape&);
template Tensor from_vector<Half>(std::span<const Half>, const Shape&);
template Tensor from_vector<BFloat16>(std::span<const BFloat16>, const Shape&);
template Tensor from_vector<int64_t>(std::span<const int64_t>, const Shape&);
template Tensor from_vector<int32_t>(std::span<const int32_t>, const Shape&);
template Tensor from_vector<uint8_t>(std::span<const uint8_t>, const Shape&);
template Tensor from_vector<int8_t>(std::span<const int8_t>, const Shape&);

}  // namespace qn
