// CPU reductions. The input is viewed as (kept dims..., reduced dims...); three loop shapes cover it:
//   inner:   the reduced dims coalesce into one contiguous run  -> one vectorized pass per output
//   columns: the kept dims coalesce into one contiguous run     -> add whole rows into an accumulator row
//   general: anything else                                      -> a strided walk per output
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "core/strided_loop.h"
#include "kernels/cpu/cpu_kernels.h"

namespace qn::kernels::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// Reduction policies: identity, combine, and the output type.
template <class T>
struct SumOp {
  using A = Acc<T>;
  using Out = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;
  static A identity() { return 0; }
  static A combine(A acc, T v) { return acc + static_cast<A>(v); }
  static A merge(A a, A b) { return a + b; }
};
template <class T>
struct MaxOp {
  using A = T;
  using Out = T;
  static A identity() { return std::numeric_limits<T>::lowest(); }
  static A combine(A acc, T v) { return (v != v || v > acc || acc != acc) ? (acc != acc ? acc : v) : acc; }
  static A merge(A a, A b) { return combine(a, b); }
};
template <class T>
struct MinOp {
  using A = T;
  using Out = T;
  static A identity() { return std::numeric_limits<T>::max(); }
  static A combine(A acc, T v) { return (v != v || v < acc || acc != acc) ? (acc != acc ? acc : v) : acc; }
  static A merge(A a, A b) { return combine(a, b); }
};

struct Layout {
  Shape kept_shape;
  Strides kept_strides;
  Shape red_shape;
  Strides red_strides;
};

Layout split_layout(const Tensor& x, const std::vector<bool>& reduce) {
  Layout l;
  for (int d = 0; d < x.dim(); ++d) {
    if (reduce[d]) {
      l.red_shape.push_back(x.shape()[d]);
      l.red_strides.push_back(x.strides()[d]);
    } else {
      l.kept_shape.push_back(x.shape()[d]);
      l.kept_strides.push_back(x.strides()[d]);
    }
  }
  std::array<Strides, 1> red{l.red_strides};
  coalesce_dims<1>(l.red_shape, red);
  l.red_strides = red[0];
  std::array<Strides, 1> kept{l.kept_strides};
  coalesce_dims<1>(l.kept_shape, kept);
  l.kept_strides = kept[0];
  return l;
}

// Offset of output element o (row-major over the coalesced kept dims).
int64_t kept_offset(const Layout& l, int64_t o) {
  int64_t offset = 0;
  for (int d = l.kept_shape.size() - 1; d >= 0; --d) {
    offset += (o % l.kept_shape[d]) * l.kept_strides[d];
    o /= l.kept_shape[d];
  }
  return offset;
}

template <class Op, class T>
void reduce_typed(const Tensor& x, const std::vector<bool>& reduce, Tensor& out) {
  using A = typename Op::A;
  using Out = typename Op::Out;
  const T* in = x.device_ptr<T>();
  Out* o = out.device_ptr<Out>();
  const int64_t outputs = out.numel();
  if (outputs == 0) return;
  const Layout l = split_layout(x, reduce);
  const int64_t reduced = l.red_shape.numel();

  const bool inner = l.red_shape.size() == 1 && l.red_strides[0] == 1;
  const bool columns = !inner && l.kept_shape.size() == 1 && l.kept_strides[0] == 1 && outputs > 1;
  if (inner) {
    parallel_for(0, outputs, std::max<int64_t>(1, kGrain / std::max<int64_t>(reduced, 1)), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T* row = in + kept_offset(l, i);
        A acc = Op::identity();
        if constexpr (std::is_same_v<Op, SumOp<T>>) {
#pragma omp simd reduction(+ : acc)
          for (int64_t j = 0; j < reduced; ++j) acc += static_cast<A>(row[j]);
        } else {
          for (int64_t j = 0; j < reduced; ++j) acc = Op::combine(acc, row[j]);
        }
        o[i] = static_cast<Out>(acc);
      }
    });
  } else if (columns) {
    // Each thread owns a slice of the output row and walks every reduced position over it.
    parallel_for(0, outputs, std::max<int64_t>(64, kGrain / std::max<int64_t>(reduced, 1)), [&](int64_t b, int64_t e) {
      std::vector<A> acc(e - b, Op::identity());
      for_each_row<1>(l.red_shape, {l.red_strides}, [&](const RowPointers<1>& r) {
        for (int64_t j = 0; j < r.n; ++j) {
          const T* row = in + r.offset[0] + j * r.stride[0] + b;
          A* a = acc.data();
#pragma omp simd
          for (int64_t i = 0; i < e - b; ++i) a[i] = Op::combine(a[i], row[i]);
        }
      });
      for (int64_t i = b; i < e; ++i) o[i] = static_cast<Out>(acc[i - b]);
    });
  } else {
    parallel_for(0, outputs, std::max<int64_t>(1, kGrain / std::max<int64_t>(reduced, 1)), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T* base = in + kept_offset(l, i);
        A acc = Op::identity();
        for_each_row<1>(l.red_shape, {l.red_strides}, [&](const RowPointers<1>& r) {
          for (int64_t j = 0; j < r.n; ++j) acc = Op::combine(acc, base[r.offset[0] + j * r.stride[0]]);
        });
        o[i] = static_cast<Out>(acc);
      }
    });
  }
}

}  // namespace

void reduce(Reduction op, const Tensor& x, const std::vector<bool>& flags, Tensor& out) {
  visit_arithmetic(x.dtype(), "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case Reduction::sum:
        return reduce_typed<SumOp<T>, T>(x, flags, out);
      case Reduction::max:
        return reduce_typed<MaxOp<T>, T>(x, flags, out);
      case Reduction::min:
        return reduce_typed<MinOp<T>, T>(x, flags, out);
    }
  });
}

void argmax(const Tensor& x, int dim, Tensor& out) {
  visit_arithmetic(x.dtype(), "argmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = x.device_ptr<T>();
    int64_t* o = out.device_ptr<int64_t>();
    std::vector<bool> flags(x.dim(), false);
    flags[dim] = true;
    const Layout l = split_layout(x, flags);
    const int64_t n = x.shape()[dim];
    const int64_t stride = x.strides()[dim];
    parallel_for(0, out.numel(), std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T* row = in + kept_offset(l, i);
        int64_t best = 0;
        T best_value = row[0];
        for (int64_t j = 1; j < n && best_value == best_value; ++j) {
          const T v = row[j * stride];
          if (v > best_value || v != v) {
            best = j;
            best_value = v;
          }
        }
        o[i] = best;
      }
    });
  });
}

void row_dots(const Tensor& a, const Tensor& b, Tensor& out) {
  visit_floating(a.dtype(), "row_dots", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t length = a.size(1);
    const T* pa = a.device_ptr<T>();
    const T* pb = b.device_ptr<T>();
    T* po = out.device_ptr<T>();
    parallel_for(0, a.size(0), std::max<int64_t>(1, 4096 / std::max<int64_t>(length, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t r = begin; r < end; ++r) {
                     const T* x = pa + r * length;
                     const T* y = pb + r * length;
                     double total = 0;
#pragma omp simd reduction(+ : total)
                     for (int64_t i = 0; i < length; ++i)
                       total += static_cast<double>(x[i]) * static_cast<double>(y[i]);
                     po[r] = static_cast<T>(total);
                   }
                 });
  });
}

}  // namespace qn::kernels::cpu
