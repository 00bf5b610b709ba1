// CUDA indexing, one thread per element moved. index_select and index_add view contiguous tensors as
// (outer, size, inner) around dim; gather and scatter_add walk the index tensor, reading (or adding into) x with
// dim's stride zeroed plus index * stride(dim). Each index is checked here, on the device (the host does not read
// device indices back, kernels/index.cpp): one out of range traps, and the next synchronization reports it as a
// CUDA error, as PyTorch's device-side assertions do. The adds are atomic, so
// several positions adding into one element sum in an unspecified order (floating results may differ from the CPU
// in the last bits), except index_add's ordered path (kernels/determinism.h): positions sorted by index, each
// segment summed in position order, the CPU's.
#include <cub/device/device_radix_sort.cuh>
#include <type_traits>

#include "kernels/cuda/kernel_support.cuh"

namespace qn::kernels::cuda {
namespace {

struct Blocks {
  int64_t outer = 1, size = 1, inner = 1;
};

Blocks blocks_around(const Shape& shape, int dim) {
  Blocks b;
  for (int i = 0; i < shape.size(); ++i) {
    if (i < dim) {
      b.outer *= shape[i];
    } else if (i == dim) {
      b.size = shape[i];
    } else {
      b.inner *= shape[i];
    }
  }
  return b;
}

// The types atomicAdd takes; int64 adds as unsigned long long (two's complement sums alike).
template <class T>
__device__ void atomic_add(T* address, T value) {
  if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(address), static_cast<unsigned long long>(value));
  } else {
    atomicAdd(address, value);
  }
}

// The index, once known to lie in [0, size); otherwise the kernel stops.
template <class I>
__device__ int64_t checked(I index, int64_t size) {
  const auto i = static_cast<int64_t>(index);
  if (i < 0 || i >= size) __trap();
  return i;
}

template <class F>
void visit_atomic(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32:
      return f(TypeTag<float>{});
    case DType::f64:
      return f(TypeTag<double>{});
    case DType::i64:
      return f(TypeTag<int64_t>{});
    case DType::i32:
      return f(TypeTag<int32_t>{});
    default:
      throw_error(op, detail::concat("no CUDA atomic add for ", dtype_name(t), " (f32, f64, i64 and i32 have one)"));
  }
}

// out (outer, count, inner) <- x (outer, size, inner) at rows index[j].
template <class T, class I>
__global__ void index_select_kernel(const T* x, const I* index, T* out, int64_t count, int64_t size, int64_t inner,
                                    int64_t n) {
  QN_GRID_STRIDE_LOOP(k, n) {
    const int64_t i = k % inner, j = (k / inner) % count, o = k / (inner * count);
    out[k] = x[(o * size + checked(index[j], size)) * inner + i];
  }
}

// at: out, index, x (dim's stride zeroed) over index's shape.
template <class T, class I>
__global__ void gather_kernel(int64_t n, Offsets<3> at, int64_t dim_stride, int64_t dim_size, T* out, const I* index,
                              const T* x) {
  QN_GRID_STRIDE_LOOP(k, n) {
    int64_t o[3];
    at.at(k, o);
    out[o[0]] = x[o[2] + checked(index[o[1]], dim_size) * dim_stride];
  }
}

// at: out (dim's stride zeroed), index, src over index's shape.
template <class T, class I>
__global__ void scatter_add_kernel(int64_t n, Offsets<3> at, int64_t dim_stride, int64_t dim_size, T* out,
                                   const I* index, const T* src) {
  QN_GRID_STRIDE_LOOP(k, n) {
    int64_t o[3];
    at.at(k, o);
    atomic_add(out + o[0] + checked(index[o[1]], dim_size) * dim_stride, src[o[2]]);
  }
}

// out (outer, size, inner) rows index[j] += src (outer, count, inner).
template <class T, class I>
__global__ void index_add_kernel(const T* src, const I* index, T* out, int64_t count, int64_t size, int64_t inner,
                                 int64_t n) {
  QN_GRID_STRIDE_LOOP(k, n) {
    const int64_t i = k % inner, j = (k / inner) % count, o = k / (inner * count);
    atomic_add(out + (o * size + checked(index[j], size)) * inner + i, src[k]);
  }
}

// positions[p] = p.
__global__ void iota_kernel(int64_t* positions, int64_t n) { QN_GRID_STRIDE_LOOP(p, n) positions[p] = p; }

// The ordered index_add: sorted_index holds index sorted stably (equal indices keep their positions' order) and
// sorted_position the positions in that order. The thread of (o, p, i) whose p starts a run of equal indices adds the
// run's source rows onto out's row, one after another in position order: the CPU kernel's order, bit for bit.
template <class T, class I>
__global__ void index_add_ordered_kernel(const T* src, const I* sorted_index, const int64_t* sorted_position, T* out,
                                         int64_t count, int64_t size, int64_t inner, int64_t n) {
  QN_GRID_STRIDE_LOOP(k, n) {
    const int64_t i = k % inner, p = (k / inner) % count, o = k / (inner * count);
    if (p > 0 && sorted_index[p] == sorted_index[p - 1]) continue;
    T* row = out + (o * size + checked(sorted_index[p], size)) * inner + i;
    T sum = *row;
    for (int64_t q = p; q < count && sorted_index[q] == sorted_index[p]; ++q) {
      sum += src[(o * count + sorted_position[q]) * inner + i];
    }
    *row = sum;
  }
}

// index (count,) sorted stably by cub's radix sort, with the positions in the sorted order.
template <class I>
void sort_positions(const Tensor& index, Tensor& sorted_index, Tensor& sorted_position) {
  const int64_t count = index.numel();
  const cudaStream_t stream = stream_of(index);
  Tensor positions = empty({count}, TensorOptions(DType::i64, index.device()));
  iota_kernel<<<grid_for(count), kBlock, 0, stream>>>(device_ptr<int64_t>(positions), count);
  sorted_index = empty({count}, index.options());
  sorted_position = empty({count}, positions.options());
  QN_CHECK(count <= std::numeric_limits<int>::max(), "index_add", "the ordered path sorts at most 2^31 - 1 indices");
  size_t scratch_bytes = 0;
  const auto sort = [&](void* scratch) {
    return cub::DeviceRadixSort::SortPairs(scratch, scratch_bytes, device_ptr<const I>(index),
                                           device_ptr<I>(sorted_index), device_ptr<const int64_t>(positions),
                                           device_ptr<int64_t>(sorted_position), static_cast<int>(count), 0,
                                           static_cast<int>(sizeof(I) * 8), stream);
  };
  ::qn::cuda::check(sort(nullptr), "index_add");
  const Tensor scratch =
      empty({static_cast<int64_t>(std::max<size_t>(scratch_bytes, 1))}, TensorOptions(DType::u8, index.device()));
  ::qn::cuda::check(sort(scratch.device_data()), "index_add");
}

}  // namespace

void index_select(const Tensor& x, int dim, const Tensor& index, Tensor& out) {
  const Blocks in = blocks_around(x.shape(), dim);
  const int64_t count = index.numel(), n = out.numel();
  if (n == 0) return;
  visit_device_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index.dtype(), "index_select", [&](auto itag) {
      using I = typename decltype(itag)::type;
      index_select_kernel<T, I><<<grid_for(n), kBlock, 0, stream_of(out)>>>(
          device_ptr<const T>(x), device_ptr<const I>(index), device_ptr<T>(out), count, in.size, in.inner, n);
    });
  });
  check_launch("index_select");
}

void gather(const Tensor& x, int dim, const Tensor& index, Tensor& out) {
  const int64_t n = index.numel();
  if (n == 0) return;
  Strides x_strides = x.strides();
  const int64_t dim_stride = x.dim() ? x_strides[dim] : 0, dim_size = x.dim() ? x.size(dim) : 1;
  if (x.dim()) x_strides[dim] = 0;
  // x seen with index's shape and dim's stride zeroed: the offset of the row each index picks from.
  const Tensor x_walk = x.dim() ? x.as_strided(index.shape(), x_strides, x.offset()) : x;
  const Offsets<3> walk = make_offsets<3>({&out, &index, &x_walk});
  visit_device_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index.dtype(), "gather", [&](auto itag) {
      using I = typename decltype(itag)::type;
      gather_kernel<T, I><<<grid_for(n), kBlock, 0, stream_of(out)>>>(
          n, walk, dim_stride, dim_size, device_ptr<T>(out), device_ptr<const I>(index), device_ptr<const T>(x));
    });
  });
  check_launch("gather");
}

void scatter_add(int dim, const Tensor& index, const Tensor& src, Tensor& out) {
  const int64_t n = index.numel();
  if (n == 0) return;
  Strides out_strides = out.strides();
  const int64_t dim_stride = out.dim() ? out_strides[dim] : 0, dim_size = out.dim() ? out.size(dim) : 1;
  if (out.dim()) out_strides[dim] = 0;
  const Tensor out_walk = out.dim() ? out.as_strided(index.shape(), out_strides, out.offset()) : out;
  const Offsets<3> walk = make_offsets<3>({&out_walk, &index, &src});
  visit_atomic(out.dtype(), "scatter_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index.dtype(), "scatter_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      scatter_add_kernel<T, I><<<grid_for(n), kBlock, 0, stream_of(out)>>>(
          n, walk, dim_stride, dim_size, device_ptr<T>(out), device_ptr<const I>(index), device_ptr<const T>(src));
    });
  });
  check_launch("scatter_add");
}

void index_add(int dim, const Tensor& index, const Tensor& src, Tensor& out, bool ordered) {
  const Blocks dst = blocks_around(out.shape(), dim);
  const int64_t count = index.numel(), n = src.numel();
  if (n == 0) return;
  visit_atomic(out.dtype(), "index_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index.dtype(), "index_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      if (!ordered) {
        index_add_kernel<T, I><<<grid_for(n), kBlock, 0, stream_of(out)>>>(
            device_ptr<const T>(src), device_ptr<const I>(index), device_ptr<T>(out), count, dst.size, dst.inner, n);
        return;
      }
      Tensor sorted_index, sorted_position;
      sort_positions<I>(index, sorted_index, sorted_position);
      index_add_ordered_kernel<T, I><<<grid_for(n), kBlock, 0, stream_of(out)>>>(
          device_ptr<const T>(src), device_ptr<const I>(sorted_index), device_ptr<const int64_t>(sorted_position),
          device_ptr<T>(out), count, dst.size, dst.inner, n);
    });
  });
  check_launch("index_add");
}

}  // namespace qn::kernels::cuda
