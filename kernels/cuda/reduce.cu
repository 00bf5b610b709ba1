// CUDA reductions. The input is viewed as (outputs, reduced): its kept dims first, then its reduced dims, copied to
// that order when it does not lie so already. One block reduces each output row: every thread folds a strided
// share of the row, then the block's partial results meet through warp shuffles and shared memory. Floating sums
// accumulate in double, integer sums in int64, and NaN propagates through max and min, all as on the CPU.
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/kernel_support.cuh"

namespace qn::kernels::cuda {
namespace {

constexpr int kReduceBlock = 256;
constexpr unsigned kMaxReduceBlocks = 1u << 16;

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// Sums accumulate in double (floats) or int64 (integers).
template <class T>
using SumAcc = SumOp<Acc<T>>;

// What max and min carry between threads: small integers widen to int, which warp shuffles move.
template <class T>
using Shuffled = std::conditional_t<std::is_integral_v<T> && (sizeof(T) < 4), int, T>;

// The identities are the infinities for floats, so that a max over -inf values is -inf (lowest() would come out).
template <class T>
struct MaxOp {
  using A = Shuffled<T>;
  __device__ static A identity() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::lowest();
  }
  __device__ static A combine(A acc, A v) { return (v != v || v > acc || acc != acc) ? (acc != acc ? acc : v) : acc; }
};
template <class T>
struct MinOp {
  using A = Shuffled<T>;
  __device__ static A identity() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::max();
  }
  __device__ static A combine(A acc, A v) { return (v != v || v < acc || acc != acc) ? (acc != acc ? acc : v) : acc; }
};

// x (outputs, reduced) contiguous -> out (outputs).
template <class T, class Op, class A, class Out>
__global__ void reduce_rows(const T* x, Out* out, int64_t outputs, int64_t reduced) {
  for (int64_t row = blockIdx.x; row < outputs; row += gridDim.x) {
    const T* r = x + row * reduced;
    A acc = Op::identity();
    for (int64_t j = threadIdx.x; j < reduced; j += blockDim.x) acc = Op::combine(acc, static_cast<A>(r[j]));
    acc = block_all<Op>(acc);
    if (threadIdx.x == 0) out[row] = static_cast<Out>(acc);
  }
}

// x (outputs, n) contiguous -> the index of each row's first maximum (a NaN counts as the maximum).
template <class T>
__global__ void argmax_rows(const T* x, int64_t* out, int64_t outputs, int64_t n) {
  __shared__ T best_values[kReduceBlock];
  __shared__ int64_t best_indices[kReduceBlock];
  for (int64_t row = blockIdx.x; row < outputs; row += gridDim.x) {
    const T* r = x + row * n;
    T best = r[0];
    int64_t index = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const T v = r[j];
      const bool better = best == best && (v != v || v > best);
      if (j == threadIdx.x || better) {
        best = v;
        index = j;
      }
    }
    best_values[threadIdx.x] = best;
    best_indices[threadIdx.x] = threadIdx.x < n ? index : std::numeric_limits<int64_t>::max();
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) {
        const T a = best_values[threadIdx.x], b = best_values[threadIdx.x + half];
        const int64_t ia = best_indices[threadIdx.x], ib = best_indices[threadIdx.x + half];
        // b wins if it is a real candidate and beats a, or ties it (or is NaN like it) at a lower index.
        const bool a_nan = a != a, b_nan = b != b;
        bool take_b = false;
        if (ib != std::numeric_limits<int64_t>::max()) {
          if (ia == std::numeric_limits<int64_t>::max())
            take_b = true;
          else if (a_nan || b_nan)
            take_b = b_nan && (!a_nan || ib < ia);
          else
            take_b = b > a || (b == a && ib < ia);
        }
        if (take_b) {
          best_values[threadIdx.x] = b;
          best_indices[threadIdx.x] = ib;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out[row] = best_indices[0];
    __syncthreads();
  }
}

// x with the flagged dims moved last, contiguous: (outputs, reduced) rows.
Tensor kept_then_reduced(const Tensor& x, const std::vector<bool>& reduce) {
  std::vector<int64_t> order;
  for (int d = 0; d < x.dim(); ++d) {
    if (!reduce[d]) order.push_back(d);
  }
  for (int d = 0; d < x.dim(); ++d) {
    if (reduce[d]) order.push_back(d);
  }
  return x.permute(order).contiguous();
}

unsigned blocks_for_rows(int64_t rows) { return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, kMaxReduceBlocks)); }

template <class T, class Op, class Out>
void launch_reduce(const Tensor& rows, Tensor& out, int64_t outputs, int64_t reduced) {
  reduce_rows<T, Op, typename Op::A, Out><<<blocks_for_rows(outputs), kReduceBlock, 0, stream_of(out)>>>(
      device_ptr<const T>(rows), device_ptr<Out>(out), outputs, reduced);
}

}  // namespace

void reduce(cpu::Reduction op, const Tensor& x, const std::vector<bool>& flags, Tensor& out) {
  const int64_t outputs = out.numel();
  if (outputs == 0) return;
  const int64_t reduced = x.numel() / outputs;
  if (reduced == 0) {  // an empty sum (max and min of nothing were refused)
    out.zero_();
    return;
  }
  const Tensor rows = kept_then_reduced(x, flags);
  visit_arithmetic(x.dtype(), "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case cpu::Reduction::sum:
        if constexpr (std::is_floating_point_v<T>) {
          launch_reduce<T, SumAcc<T>, T>(rows, out, outputs, reduced);
        } else {
          launch_reduce<T, SumAcc<T>, int64_t>(rows, out, outputs, reduced);
        }
        break;
      case cpu::Reduction::max:
        launch_reduce<T, MaxOp<T>, T>(rows, out, outputs, reduced);
        break;
      case cpu::Reduction::min:
        launch_reduce<T, MinOp<T>, T>(rows, out, outputs, reduced);
        break;
    }
  });
  check_launch("reduce");
}

void argmax(const Tensor& x, int dim, Tensor& out) {
  const int64_t outputs = out.numel();
  if (outputs == 0) return;
  std::vector<bool> flags(x.dim(), false);
  flags[dim] = true;
  const Tensor rows = kept_then_reduced(x, flags);
  visit_arithmetic(x.dtype(), "argmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    argmax_rows<T><<<blocks_for_rows(outputs), kReduceBlock, 0, stream_of(out)>>>(
        device_ptr<const T>(rows), device_ptr<int64_t>(out), outputs, x.size(dim));
  });
  check_launch("argmax");
}

}  // namespace qn::kernels::cuda
