// Tensor: a cheap, shared handle to (storage, offset, shape, strides, dtype, device).
// Copying a Tensor copies the handle; views share storage; contiguous()/clone()/to() copy data.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/call_site.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/storage.h"

namespace qn {

struct AutogradMeta;
class Tensor;
using GradHook = std::function<Tensor(const Tensor& grad)>;
// Called with a leaf's grad() once backward() has accumulated into it: the leaf's gradient for this backward is
// complete (PyTorch's register_post_accumulate_grad_hook). A hook that needs the leaf itself should not capture
// it (the leaf owns its hooks: a cycle), but find it by other means.
using PostAccumulateGradHook = std::function<void(const Tensor& accumulated_grad)>;

// What to make a new tensor as. Implicit from a DType or Device so factories read naturally:
// zeros({2, 3}, DType::f64).
struct TensorOptions {
  DType dtype = DType::f32;
  Device device = Device::cpu();

  TensorOptions() = default;
  TensorOptions(DType t) : dtype(t) {}    // NOLINT: implicit on purpose
  TensorOptions(Device d) : device(d) {}  // NOLINT: implicit on purpose
  TensorOptions(DType t, Device d) : dtype(t), device(d) {}
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  Tensor(Storage storage, int64_t offset, Shape shape, Strides strides, DType dtype);

  bool defined() const { return impl_ != nullptr; }

  // --- metadata
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int dim() const { return impl().shape.size(); }
  int64_t numel() const { return impl().shape.numel(); }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage.device(); }
  bool is_cuda() const { return device().is_cuda(); }
  TensorOptions options() const { return {dtype(), device()}; }
  size_t element_size() const { return dtype_size(dtype()); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(); }
  const Storage& storage() const { return impl().storage; }
  bool is_contiguous() const;
  bool shares_storage_with(const Tensor& other) const { return storage().same_as(other.storage()); }
  // Same TensorImpl: the same handle, not just the same storage.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // --- data access from host code: CPU tensors only (a device's memory is read through to(cpu)).
  // data_ptr<T>() checks that T matches dtype().
  void* raw_data() const;
  template <class T>
  T* data_ptr() const {
    check_access(dtype_of<T>, "data_ptr");
    return static_cast<T*>(raw_data());
  }
  // The first element's address in whichever memory holds it (a device pointer for CUDA tensors, host memory for
  // the CPU and the simulated device): for kernels and transfers, which know the device. Host code uses data_ptr.
  void* device_data() const;
  template <class T>
  T* device_ptr() const {
    check_access(dtype_of<T>, "device_ptr");
    return static_cast<T*>(device_data());
  }
  // The single element of a one-element tensor, converted to T (read back from a device: a counted read).
  template <class T>
  T item(CallSite site = {}) const;

  // --- views: share storage, no copy
  Tensor view(const Shape& shape) const;     // like PyTorch: fails when strides cannot express it
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a contiguous copy
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;  // Python's [start:end:step]
  Tensor select(int64_t dim, int64_t index) const;                                // drops dim
  Tensor expand(const Shape& shape) const;  // -1 keeps a size; new leading dims allowed
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;

  // --- copies
  Tensor contiguous() const;  // this tensor if already contiguous
  Tensor clone() const;
  Tensor to(DType dtype) const;  // this tensor if already of dtype
  // This tensor if already there, else a contiguous copy; a copy from a device to the CPU is a read the host
  // waits for, counted with its call site (core/device_reads.h). An integer tensor copied from the CPU to a
  // device keeps its host copy as the device memory's mirror (core/storage.h).
  Tensor to(Device device, CallSite site = {}) const;
  // Its values in host memory: itself on the CPU; on a device the host copy it came from while that still holds
  // (no read: a batch's token ids, labels, codes), else read back like to(cpu).
  Tensor to_host(CallSite site = {}) const;
  Tensor& copy_(const Tensor& src);  // src broadcast to this shape, converted to this dtype
  // Makes this handle, and every copy of it, refer to source's data (storage, geometry, dtype), keeping
  // its autograd state: how a module converts its parameters in place (PyTorch's `param.data = ...`).
  void set_data(const Tensor& source);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }

  // --- autograd state (core/autograd_meta.h); the graph itself is built by autograd/ops.h
  bool requires_grad() const;
  // Marks a leaf as a parameter whose gradient backward() accumulates into grad().
  Tensor& set_requires_grad(bool requires_grad);
  bool is_leaf() const;        // not produced by a recorded op
  const Tensor& grad() const;  // undefined until a backward reaches this tensor
  void set_grad(const Tensor& grad);
  void zero_grad();    // drops the accumulated gradient
  void retain_grad();  // a non-leaf keeps its gradient too
  void register_hook(GradHook hook);
  void register_post_accumulate_grad_hook(PostAccumulateGradHook hook);  // leaves only
  AutogradMeta* autograd_meta() const;   // null when the tensor never took part in autograd
  AutogradMeta& ensure_autograd_meta();  // created on first use
  std::shared_ptr<AutogradMeta> shared_autograd_meta() const;
  // A handle to the same data that is cut from the graph (no grad_fn, no requires_grad).
  Tensor detach() const;
  // In-place writes so far to this tensor's storage (shared with its views).
  uint64_t version() const { return storage().version(); }
  // Refuses an in-place write to a leaf that requires grad while the graph is being recorded; counts it.
  void check_inplace(const char* op) const;
  // Reverse-mode differentiation from this tensor (defined in autograd/engine.cpp): grad defaults to
  // ones for a one-element tensor.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  std::string str() const;       // readable, PyTorch-like printing
  std::string describe() const;  // "f32[2, 3] on cpu", for error messages

 private:
  struct Impl {
    Storage storage;
    int64_t offset = 0;  // in elements
    Shape shape;
    Strides strides;  // in elements
    DType dtype = DType::f32;
    std::shared_ptr<AutogradMeta> autograd;
  };
  const Impl& impl() const;
  void check_access(DType expected, const char* op) const;
  Tensor with_geometry(const Shape& shape, const Strides& strides, int64_t offset) const;

  std::shared_ptr<Impl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

// --- factories
Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
// Values start, start+step, ... below end (above end for a negative step).
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
Tensor arange(int64_t end, TensorOptions options = DType::i64);
// steps values from start to end inclusive, evenly spaced.
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
// A tensor holding a copy of values, of the given shape (1-D when shape is empty and values are not one).
template <class T>
Tensor from_vector(std::span<const T> values, const Shape& shape);
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  return from_vector(std::span<const T>(values), shape);
}
template <class T>
Tensor from_vector(const std::vector<T>& values) {
  return from_vector(std::span<const T>(values), Shape{static_cast<int64_t>(values.size())});
}
// A 0-d tensor holding value.
Tensor scalar_tensor(double value, TensorOptions options = {});

}  // namespace qn
