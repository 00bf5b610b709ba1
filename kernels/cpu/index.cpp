// CPU indexing. index_select/index_add view contiguous tensors as (outer, size, inner) around dim and
// move whole inner blocks; gather/scatter_add walk the index tensor with for_each_row, reading x with
// dim's stride zeroed and adding index * stride(dim).
#include <cstring>

#include "core/strided_loop.h"
#include "kernels/cpu/cpu_kernels.h"

namespace qn::kernels::cpu {
namespace {

struct Blocks {
  int64_t outer = 1;
  int64_t size = 1;
  int64_t inner = 1;
};

Blocks blocks_around(const Shape& shape, int dim) {
  Blocks b;
  for (int i = 0; i < shape.size(); ++i) {
    if (i < dim)
      b.outer *= shape[i];
    else if (i == dim)
      b.size = shape[i];
    else
      b.inner *= shape[i];
  }
  return b;
}

template <class I>
const I* indices(const Tensor& index) {
  return index.device_ptr<I>();
}

}  // namespace

void index_select(const Tensor& x, int dim, const Tensor& index, Tensor& out) {
  const Blocks in = blocks_around(x.shape(), dim);
  const int64_t count = index.numel();
  const size_t block_bytes = static_cast<size_t>(in.inner) * x.element_size();
  const char* src = static_cast<const char*>(x.device_data());
  char* dst = static_cast<char*>(out.device_data());
  visit_index(index.dtype(), "index_select", [&](auto tag) {
    using I = typename decltype(tag)::type;
    const I* idx = indices<I>(index);
    parallel_for(0, in.outer * count, std::max<int64_t>(1, 65536 / std::max<int64_t>(in.inner, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t t = b; t < e; ++t) {
                     const int64_t o = t / count;
                     const int64_t j = t % count;
                     std::memcpy(dst + t * block_bytes, src + (o * in.size + idx[j]) * block_bytes, block_bytes);
                   }
                 });
  });
}

void gather(const Tensor& x, int dim, const Tensor& index, Tensor& out) {
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index.dtype(), "gather", [&](auto itag) {
      using I = typename decltype(itag)::type;
      Strides x_strides = x.strides();
      const int64_t dim_stride = x.dim() ? x_strides[dim] : 0;
      if (x.dim()) x_strides[dim] = 0;
      const T* px = static_cast<const T*>(x.device_data());
      const I* pi = index.device_ptr<I>();
      T* po = static_cast<T*>(out.device_data());
      for_each_row<3>(
          index.shape(), {out.strides(), index.strides(), x_strides},
          [&](const RowPointers<3>& r) {
            for (int64_t i = 0; i < r.n; ++i) {
              const int64_t at = static_cast<int64_t>(pi[r.offset[1] + i * r.stride[1]]);
              po[r.offset[0] + i * r.stride[0]] = px[r.offset[2] + i * r.stride[2] + at * dim_stride];
            }
          },
          1 << 15);
    });
  });
}

void scatter_add(int dim, const Tensor& index, const Tensor& src, Tensor& out) {
  visit_arithmetic(out.dtype(), "scatter_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index.dtype(), "scatter_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      Strides out_strides = out.strides();
      const int64_t dim_stride = out.dim() ? out_strides[dim] : 0;
      if (out.dim()) out_strides[dim] = 0;
      const T* ps = src.device_ptr<T>();
      const I* pi = index.device_ptr<I>();
      T* po = out.device_ptr<T>();
      // Serial: several positions may add into one element.
      for_each_row<3>(index.shape(), {out_strides, index.strides(), src.strides()}, [&](const RowPointers<3>& r) {
        for (int64_t i = 0; i < r.n; ++i) {
          const int64_t at = static_cast<int64_t>(pi[r.offset[1] + i * r.stride[1]]);
          po[r.offset[0] + i * r.stride[0] + at * dim_stride] += ps[r.offset[2] + i * r.stride[2]];
        }
      });
    });
  });
}

void index_add(int dim, const Tensor& index, const Tensor& src, Tensor& out) {
  const Blocks dst = blocks_around(out.shape(), dim);
  const int64_t count = index.numel();
  visit_arithmetic(out.dtype(), "index_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index.dtype(), "index_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      const I* idx = indices<I>(index);
      const T* ps = src.device_ptr<T>();
      T* po = out.device_ptr<T>();
      // Parallel over outer blocks only: within one, repeated indices add into the same row.
      parallel_for(0, dst.outer, 1, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          for (int64_t j = 0; j < count; ++j) {
            T* row = po + (o * dst.size + static_cast<int64_t>(idx[j])) * dst.inner;
            const T* add = ps + (o * count + j) * dst.inner;
#pragma omp simd
            for (int64_t i = 0; i < dst.inner; ++i) row[i] += add[i];
          }
        }
      });
    });
  });
}

}  // namespace qn::kernels::cpu
