// Fused attention on the CPU (kernels/attention.h): one (n, h) pair per task, its L x S tile kept in cache between
// the two products. With several pairs and threads, each pair's products run single-threaded inside the parallel
// region, so the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/threading.h"

namespace qn::kernels::cpu {
namespace {

// A (rows, cols) matrix of one pair inside a 4-D operand, rows `ld` apart.
template <class T>
struct PairMatrix {
  T* data;
  int64_t ld;
};

template <class T>
PairMatrix<T> pair_matrix(const Tensor& t, int64_t n, int64_t h) {
  T* base = const_cast<T*>(t.device_ptr<T>()) + n * t.stride(0) + h * t.stride(1);
  // A one-row matrix may carry any row stride; BLAS wants ld >= cols.
  return {base, std::max<int64_t>(t.stride(2), t.size(3))};
}

// Sets the entries of query row i of pair (n, h) that the masks exclude (masked_out, and keys after i when causal).
template <class T>
void fill_masked(const FusedAttention& a, int64_t n, int64_t h, int64_t i, int64_t s, T value, T* row) {
  if (a.masked_out.defined()) {
    const Tensor& mask = a.masked_out;
    const uint8_t* m = mask.device_ptr<uint8_t>() + n * mask.stride(0) + h * mask.stride(1) + i * mask.stride(2);
    for (int64_t j = 0; j < s; ++j) {
      if (m[j * mask.stride(3)]) row[j] = value;
    }
  }
  if (a.causal) std::fill(row + std::min(i + 1, s), row + s, value);
}

// dst = keep ? src * factor : 0 over one pair's L x S tile (masked_scale's rule).
template <class T>
void apply_keep(const T* src, const uint8_t* keep, T factor, int64_t count, T* dst) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) dst[i] = keep[i] ? src[i] * factor : T(0);
}

// A per-thread buffer of at least `count` values, kept between calls: a fresh one each call would come from mmap
// (256 KiB for a 256 x 256 tile) and cost its page faults every layer.
template <class T>
T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& buffer = buffers[slot];
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

template <class T>
void forward_typed(const Tensor& q, const Tensor& k, const Tensor& v, const FusedAttention& a, Tensor& weights,
                   Tensor& out) {
  const int64_t heads = q.size(1), l = q.size(2), e = q.size(3), s = k.size(2), ev = v.size(3);
  const T scale = static_cast<T>(a.scale);
  const T keep_scale = static_cast<T>(a.keep_scale);
  T* pw = weights.device_ptr<T>();
  const uint8_t* keep = a.keep.defined() ? a.keep.device_ptr<uint8_t>() : nullptr;
  sync_blas_threads();
  parallel_for(0, q.size(0) * heads, 1, [&](int64_t begin, int64_t end) {
    T* dropped = keep != nullptr ? scratch<T>(0, l * s) : nullptr;
    for (int64_t pair = begin; pair < end; ++pair) {
      const int64_t n = pair / heads, h = pair % heads;
      const PairMatrix<T> mq = pair_matrix<T>(q, n, h), mk = pair_matrix<T>(k, n, h), mv = pair_matrix<T>(v, n, h);
      const PairMatrix<T> mo = pair_matrix<T>(out, n, h);
      T* p = pw + pair * l * s;
      gemm<T>(false, true, l, s, e, scale, mq.data, mq.ld, mk.data, mk.ld, T(0), p, s);
      for (int64_t i = 0; i < l; ++i) {
        T* row = p + i * s;
        fill_masked(a, n, h, i, s, -std::numeric_limits<T>::infinity(), row);
        softmax_row(row, row, s);
      }
      const T* product = p;
      if (keep != nullptr) {
        apply_keep(p, keep + pair * l * s, keep_scale, l * s, dropped);
        product = dropped;
      }
      gemm<T>(false, false, l, ev, s, T(1), product, s, mv.data, mv.ld, T(0), mo.data, mo.ld);
    }
  });
}

template <class T>
void backward_typed(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& weights,
                    const FusedAttention& a, Tensor& dq, Tensor& dk, Tensor& dv) {
  const int64_t heads = q.size(1), l = q.size(2), e = q.size(3), s = k.size(2), ev = v.size(3);
  const T scale = static_cast<T>(a.scale);
  const T keep_scale = static_cast<T>(a.keep_scale);
  const T* pw = weights.device_ptr<T>();
  const uint8_t* keep = a.keep.defined() ? a.keep.device_ptr<uint8_t>() : nullptr;
  sync_blas_threads();
  parallel_for(0, q.size(0) * heads, 1, [&](int64_t begin, int64_t end) {
    T* dp = scratch<T>(0, l * s);
    T* dropped = keep != nullptr ? scratch<T>(1, l * s) : nullptr;
    for (int64_t pair = begin; pair < end; ++pair) {
      const int64_t n = pair / heads, h = pair % heads;
      const PairMatrix<T> mq = pair_matrix<T>(q, n, h), mk = pair_matrix<T>(k, n, h), mv = pair_matrix<T>(v, n, h);
      const PairMatrix<T> mg = pair_matrix<T>(g, n, h);
      const PairMatrix<T> mdq = pair_matrix<T>(dq, n, h), mdk = pair_matrix<T>(dk, n, h),
                          mdv = pair_matrix<T>(dv, n, h);
      const T* p = pw + pair * l * s;
      const uint8_t* kp = keep != nullptr ? keep + pair * l * s : nullptr;
      // dPd (L, S) = g v^T;  dv (S, Ev) = Pd^T g with Pd the dropped weights the forward multiplied.
      gemm<T>(false, true, l, s, ev, T(1), mg.data, mg.ld, mv.data, mv.ld, T(0), dp, s);
      const T* pd = p;
      if (kp != nullptr) {
        apply_keep(p, kp, keep_scale, l * s, dropped);
        pd = dropped;
        apply_keep(dp, kp, keep_scale, l * s, dp);
      }
      gemm<T>(true, false, s, ev, l, T(1), pd, s, mg.data, mg.ld, T(0), mdv.data, mdv.ld);
      // dS = P * (dP - rowsum(dP * P)), 0 at masked entries (as masked_fill's gradient: a row with every key
      // masked has NaN weights but a zero dS); then dq = dS k * scale and dk = dS^T q * scale.
      for (int64_t i = 0; i < l; ++i) {
        const T* pr = p + i * s;
        T* dr = dp + i * s;
        T dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < s; ++j) dot += dr[j] * pr[j];
#pragma omp simd
        for (int64_t j = 0; j < s; ++j) dr[j] = pr[j] * (dr[j] - dot);
        fill_masked(a, n, h, i, s, T(0), dr);
      }
      gemm<T>(false, false, l, e, s, scale, dp, s, mk.data, mk.ld, T(0), mdq.data, mdq.ld);
      gemm<T>(true, false, s, e, l, scale, dp, s, mq.data, mq.ld, T(0), mdk.data, mdk.ld);
    }
  });
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const FusedAttention& a, Tensor& weights,
                       Tensor& out) {
  visit_floating(q.dtype(), "attention",
                 [&](auto tag) { forward_typed<typename decltype(tag)::type>(q, k, v, a, weights, out); });
}

void attention_backward(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& weights,
                        const FusedAttention& a, Tensor& dq, Tensor& dk, Tensor& dv) {
  visit_floating(q.dtype(), "attention",
                 [&](auto tag) { backward_typed<typename decltype(tag)::type>(g, q, k, v, weights, a, dq, dk, dv); });
}

}  // namespace qn::kernels::cpu
