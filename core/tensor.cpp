// Tensor metadata and views. Views only compute new (shape, strides, offset) over the same storage.
#include "core/tensor.h"

#include <algorithm>
#include <numeric>

#include "core/convert.h"

namespace qn {

Tensor::Tensor(Storage storage, int64_t offset, Shape shape, Strides strides, DType dtype)
    : impl_(std::make_shared<Impl>(Impl{std::move(storage), offset, shape, strides, dtype, nullptr})) {
  QN_CHECK(shape.size() == strides.size(), "Tensor", "shape ", shape, " and strides ", strides, " differ in length");
}

const Tensor::Impl& Tensor::impl() const {
  QN_CHECK(impl_ != nullptr, "Tensor", "use of an undefined tensor (default-constructed, never assigned)");
  return *impl_;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return detail::concat(dtype(), shape(), " on ", device());
}

int64_t Tensor::size(int64_t dim) const { return shape()[normalize_dim(dim, this->dim(), "size")]; }
int64_t Tensor::stride(int64_t dim) const { return strides()[normalize_dim(dim, this->dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;  // a size-1 dim's stride never matters
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  QN_CHECK(device().is_cpu(), "data_ptr", "host code may not read tensor ", describe(),
           ", which is in a device's memory; copy it to the CPU first");
  return device_data();
}

void* Tensor::device_data() const {
  return static_cast<char*>(storage().data()) + offset() * static_cast<int64_t>(element_size());
}

void Tensor::check_access(DType expected, const char* op) const {
  QN_CHECK(dtype() == expected, op, "requested ", expected, " elements from a ", describe(), " tensor");
}

template <class T>
T Tensor::item(CallSite site) const {
  QN_CHECK(numel() == 1, "item", "expected a one-element tensor, got ", describe());
  const Tensor host = to(Device::cpu(), site);  // a device's value is read back (and waited for)
  return visit_dtype(dtype(), [&](auto tag) -> T {
    using S = typename decltype(tag)::type;
    return detail::convert<T>(*static_cast<const S*>(host.raw_data()));
  });
}
template float Tensor::item<float>(CallSite) const;
template double Tensor::item<double>(CallSite) const;
template int64_t Tensor::item<int64_t>(CallSite) const;
template int32_t Tensor::item<int32_t>(CallSite) const;

void Tensor::set_data(const Tensor& source) {
  QN_CHECK(impl_ != nullptr && source.defined(), "set_data", "both tensors must be defined");
  impl_->storage = source.storage();
  impl_->offset = source.offset();
  impl_->shape = source.shape();
  impl_->strides = source.strides();
  impl_->dtype = source.dtype();
}

Tensor Tensor::with_geometry(const Shape& shape, const Strides& strides, int64_t offset) const {
  return Tensor(storage(), offset, shape, strides, dtype());
}

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
  QN_CHECK(shape.size() == strides.size(), "as_strided", "shape ", shape, " and strides ", strides,
           " differ in length");
  int64_t last = offset;
  for (int i = 0; i < shape.size(); ++i) {
    QN_CHECK(shape[i] >= 0 && strides[i] >= 0, "as_strided", "negative size or stride in shape ", shape, " strides ",
             strides);
    if (shape[i] == 0) last = offset - 1;  // empty: touches nothing
    if (last >= offset) last += (shape[i] - 1) * strides[i];
  }
  const int64_t capacity = static_cast<int64_t>(storage().nbytes() / element_size());
  QN_CHECK(offset >= 0 && (shape.numel() == 0 || last < capacity), "as_strided", "shape ", shape, " strides ", strides,
           " offset ", offset, " reach past the storage of ", capacity, " elements");
  return with_geometry(shape, strides, offset);
}

// Resolves one -1 in a requested shape against numel.
static Shape infer_shape(const Shape& requested, int64_t numel, const char* op) {
  Shape shape = requested;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      QN_CHECK(infer < 0, op, "only one dimension can be -1, got ", requested);
      infer = i;
    } else {
      QN_CHECK(shape[i] >= 0, op, "invalid size ", shape[i], " in shape ", requested);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    QN_CHECK(known != 0 && numel % known == 0, op, "shape ", requested, " is invalid for ", numel, " elements");
    shape[infer] = numel / known;
  }
  QN_CHECK(shape.numel() == numel, op, "shape ", requested, " is invalid for a tensor of ", numel, " elements");
  return shape;
}

// Strides that let a tensor of (old_shape, old_strides) be viewed as new_shape without copying, or false.
// Walks chunks of old dims that are laid out contiguously among themselves; each chunk must map onto
// whole new dims (the same rule as PyTorch's view).
static bool view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape,
                         Strides& new_strides) {
  new_strides = Strides::filled(new_shape.size(), 1);
  if (old_shape.numel() == 0 || old_shape.empty()) {  // empty, or a 0-d scalar viewed as [1, 1, ...]
    new_strides = contiguous_strides(new_shape);
    return true;
  }
  int view_d = new_shape.size() - 1;
  int64_t chunk_base_stride = old_strides.size() ? old_strides.back() : 1;
  int64_t tensor_numel = 1;
  int64_t view_numel = 1;
  for (int d = old_shape.size() - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        new_strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "view");
  Strides strides;
  QN_CHECK(view_strides(this->shape(), this->strides(), shape, strides), "view", "cannot view ", describe(),
           " with strides ", this->strides(), " as ", shape, " without copying; use reshape()");
  return with_geometry(shape, strides, offset());
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "reshape");
  Strides strides;
  if (view_strides(this->shape(), this->strides(), shape, strides)) return with_geometry(shape, strides, offset());
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  return reshape(flattened_shape(shape(), start_dim, end_dim));
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  const int a = normalize_dim(dim0, dim(), "transpose");
  const int b = normalize_dim(dim1, dim(), "transpose");
  Shape shape = this->shape();
  Strides strides = this->strides();
  if (dim() == 0) return *this;
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return with_geometry(shape, strides, offset());
}

Tensor Tensor::t() const {
  QN_CHECK(dim() <= 2, "t", "expected a tensor with at most 2 dimensions, got ", describe());
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  QN_CHECK(static_cast<int>(dims.size()) == dim(), "permute", "got ", dims.size(), " dims for ", describe());
  Shape shape;
  Strides strides;
  std::vector<bool> seen(dim(), false);
  for (int64_t d : dims) {
    const int n = normalize_dim(d, dim(), "permute");
    QN_CHECK(!seen[n], "permute", "dim ", d, " repeated in the permutation");
    seen[n] = true;
    shape.push_back(this->shape()[n]);
    strides.push_back(this->strides()[n]);
  }
  return with_geometry(shape, strides, offset());
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  const int d = normalize_dim(dim, this->dim(), "narrow");
  const int64_t size = shape()[d];
  if (start < 0) start += size;
  QN_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow", "range [", start, ", ", start + length,
           ") out of bounds for dim ", dim, " of ", describe());
  Shape shape = this->shape();
  shape[d] = length;
  return with_geometry(shape, strides(), offset() + start * strides()[d]);
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  const int d = normalize_dim(dim, this->dim(), "slice");
  QN_CHECK(step > 0, "slice", "step must be positive, got ", step);
  const int64_t size = shape()[d];
  // Python semantics: negative bounds count from the end, out-of-range bounds clamp.
  auto clamp_bound = [size](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + size : v, 0, size); };
  start = clamp_bound(start);
  end = std::max(clamp_bound(end), start);
  Shape shape = this->shape();
  Strides strides = this->strides();
  shape[d] = (end - start + step - 1) / step;
  const int64_t new_offset = offset() + start * strides[d];
  strides[d] *= step;
  return with_geometry(shape, strides, new_offset);
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  const int d = normalize_dim(dim, this->dim(), "select");
  const int64_t size = shape()[d];
  QN_CHECK(index >= -size && index < size, "select", "index ", index, " out of range for dim ", dim, " of ",
           describe());
  if (index < 0) index += size;
  Shape shape = this->shape();
  Strides strides = this->strides();
  const int64_t new_offset = offset() + index * strides[d];
  shape.erase(d);
  strides.erase(d);
  return with_geometry(shape, strides, new_offset);
}

Tensor Tensor::expand(const Shape& target) const {
  QN_CHECK(target.size() >= dim(), "expand", "cannot expand ", describe(), " to fewer dimensions ", target);
  const int lead = target.size() - dim();
  Shape shape = target;
  Strides strides = Strides::filled(target.size(), 0);
  for (int i = 0; i < target.size(); ++i) {
    if (i < lead) {
      QN_CHECK(target[i] >= 0, "expand", "size -1 not allowed for new leading dim ", i, " in ", target);
      continue;  // new dims get stride 0
    }
    const int64_t have = this->shape()[i - lead];
    const int64_t want = target[i] == -1 ? have : target[i];
    QN_CHECK(have == want || have == 1, "expand", "cannot expand ", describe(), " to ", target, " (dim ", i, ": size ",
             have, " is neither ", want, " nor 1)");
    shape[i] = want;
    strides[i] = have == want ? this->strides()[i - lead] : 0;
  }
  return with_geometry(shape, strides, offset());
}

Tensor Tensor::squeeze() const {
  Shape shape;
  Strides strides;
  for (int i = 0; i < dim(); ++i) {
    if (this->shape()[i] == 1) continue;
    shape.push_back(this->shape()[i]);
    strides.push_back(this->strides()[i]);
  }
  return with_geometry(shape, strides, offset());
}

Tensor Tensor::squeeze(int64_t dim) const {
  if (this->dim() == 0) return *this;
  const int d = normalize_dim(dim, this->dim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape shape = this->shape();
  Strides strides = this->strides();
  shape.erase(d);
  strides.erase(d);
  return with_geometry(shape, strides, offset());
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  const int d = normalize_dim(dim, this->dim() + 1, "unsqueeze");
  Shape shape = this->shape();
  Strides strides = this->strides();
  const int64_t stride = d < this->dim() ? strides[d] * shape[d] : 1;
  shape.insert(d, 1);
  strides.insert(d, stride);
  return with_geometry(shape, strides, offset());
}

}  // namespace qn
