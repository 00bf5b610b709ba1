// CPU convolution.
// im2col + GEMM, per image and group g (Cg = C / groups input channels, Og = O / groups outputs):
//   col (Cg*KH*KW, HO*WO):  col[(c, i, j), (y, x)] = input[c, y*sh - pt + i*dh, x*sw - pl + j*dw] (0 outside)
//   out_g (Og, HO*WO) = weight_g (Og, Cg*KH*KW) @ col
// A 1x1 convolution with stride 1 and no padding needs no col: the image itself is (Cg, H*W). On small planes
// (EfficientNet's tail on 28x28 images: 2x2 and 1x1; every squeeze-excitation convolution: 1x1) a GEMM per image
// is thin (one column per pixel), so those run as one GEMM over the whole batch instead.
// Depthwise convolutions (one input channel per group) have their own kernels: conv2d_depthwise.cpp.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/scratch.h"
#include "kernels/threading.h"

namespace qn::kernels::cpu {
namespace {

struct Geometry {
  int64_t n, c, h, w;      // input
  int64_t o, kh, kw;       // weight
  int64_t ho, wo;          // output
  int64_t groups, cg, og;  // per group
};

// The geometry of a convolution from its input, weight and output shapes.
Geometry geometry(const Shape& input, const Shape& weight, const Shape& out, int64_t groups) {
  Geometry g{input[0], input[1], input[2], input[3], weight[0], weight[2], weight[3], out[2], out[3], groups, 0, 0};
  g.cg = g.c / g.groups;
  g.og = g.o / g.groups;
  return g;
}

// A 1x1 convolution with stride 1 and no padding: the image itself is the column matrix.
bool is_pointwise(const Geometry& g, const Conv2dParams& p) {
  return g.kh == 1 && g.kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 &&
         p.padding == std::array<int64_t, 4>{0, 0, 0, 0};
}

// Pointwise convolutions on planes up to this many pixels run as one GEMM over the batch. Per image, OpenBLAS
// reaches 8 GFLOP/s on 1-pixel planes and 60 on 4-pixel ones, against 100-180 batched; from 16 pixels on the
// per-image GEMMs are faster than the copies of the batched form (bench_kernels, BM_PointwiseConv).
constexpr int64_t kBatchedPlaneMax = 4;

bool runs_batched(const Geometry& g, const Conv2dParams& p) {
  return is_pointwise(g, p) && g.groups == 1 && g.ho * g.wo <= kBatchedPlaneMax;
}

// x (N, C, P) <-> channel-major xc (C, N*P): the batch as one column matrix. With P = 1 no copy is needed,
// since x (N, C) is xc's transpose; the callers pass GEMM a transposed operand instead.
// Split over images: the copies run between parallel GEMMs, where a serial copy leaves the other threads idle.
template <class T>
void to_channel_major(const T* x, int64_t n, int64_t c, int64_t plane, T* xc) {
  parallel_for(0, n, std::max<int64_t>(1, 4096 / std::max<int64_t>(c * plane, 1)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t ch = 0; ch < c; ++ch) std::copy_n(x + (i * c + ch) * plane, plane, xc + (ch * n + i) * plane);
    }
  });
}

template <class T>
void from_channel_major(const T* xc, int64_t n, int64_t c, int64_t plane, T* x) {
  parallel_for(0, n, std::max<int64_t>(1, 4096 / std::max<int64_t>(c * plane, 1)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t ch = 0; ch < c; ++ch) std::copy_n(xc + (ch * n + i) * plane, plane, x + (i * c + ch) * plane);
    }
  });
}

// y (N, out, P) = op(W) @ x (N, in, P) image by image, as one GEMM over the batch: the forward (op(W) = W, W of
// shape (out, in)) and the input gradient (op(W) = W^T, W of shape (in, out)).
//   P = 1: y (N, out) = x (N, in) @ op(W)^T
//   P > 1: yc (out, N*P) = op(W) @ xc (in, N*P)
template <class T>
void pointwise_batched(bool transpose_w, const T* x, const T* w, int64_t n, int64_t in, int64_t out, int64_t plane,
                       T* y) {
  const int64_t columns = n * plane, ldw = transpose_w ? out : in;
  if (plane == 1) {
    gemm<T>(false, !transpose_w, n, out, in, T(1), x, in, w, ldw, T(0), y, out);
    return;
  }
  const auto xc = uninitialized<T>(in * columns), yc = uninitialized<T>(out * columns);
  to_channel_major(x, n, in, plane, xc.get());
  gemm<T>(transpose_w, false, out, columns, in, T(1), w, ldw, xc.get(), columns, T(0), yc.get(), columns);
  from_channel_major(yc.get(), n, out, plane, y);
}

// Weight gradient, batched: dW (O, C) from dy (N, O, P) and x (N, C, P).
//   P = 1: dW = dy^T (O, N) @ x (N, C)
//   P > 1: dW = dyc (O, N*P) @ xc^T (N*P, C)
template <class T>
void pointwise_backward_weight_batched(const T* dy, const T* x, const Geometry& g, T* dw) {
  const int64_t plane = g.ho * g.wo, columns = g.n * plane;
  if (plane == 1) {
    gemm<T>(true, false, g.o, g.c, g.n, T(1), dy, g.o, x, g.c, T(0), dw, g.c);
    return;
  }
  const auto dyc = uninitialized<T>(g.o * columns), xc = uninitialized<T>(g.c * columns);
  to_channel_major(dy, g.n, g.o, plane, dyc.get());
  to_channel_major(x, g.n, g.c, plane, xc.get());
  gemm<T>(false, true, g.o, g.c, columns, T(1), dyc.get(), columns, xc.get(), columns, T(0), dw, g.c);
}

// col (cg*kh*kw, ho*wo) for channels [c0, c0 + cg) of one image (c, h, w).
template <class T>
void im2col(const T* image, const Geometry& g, const Conv2dParams& p, int64_t c0, T* col) {
  const int64_t plane = g.ho * g.wo;
  for (int64_t c = 0; c < g.cg; ++c) {
    const T* channel = image + (c0 + c) * g.h * g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        T* dst = col + ((c * g.kh + i) * g.kw + j) * plane;
        for (int64_t y = 0; y < g.ho; ++y) {
          const int64_t iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0];
          T* row = dst + y * g.wo;
          if (iy < 0 || iy >= g.h) {
            std::fill(row, row + g.wo, T(0));
            continue;
          }
          const T* src = channel + iy * g.w;
          for (int64_t x = 0; x < g.wo; ++x) {
            const int64_t ix = x * p.stride[1] - p.padding[2] + j * p.dilation[1];
            row[x] = (ix >= 0 && ix < g.w) ? src[ix] : T(0);
          }
        }
      }
    }
  }
}

template <class T>
void add_bias(T* out, const T* bias, int64_t channels, int64_t plane) {
  for (int64_t o = 0; o < channels; ++o) {
    T* dst = out + o * plane;
    const T b = bias[o];
#pragma omp simd
    for (int64_t i = 0; i < plane; ++i) dst[i] += b;
  }
}

template <class T>
void conv_im2col_typed(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                       Tensor& out) {
  const Geometry g = geometry(input.shape(), weight.shape(), out.shape(), p.groups);
  const T* in = input.device_ptr<T>();
  const T* w = weight.device_ptr<T>();
  const T* b = bias.defined() ? bias.device_ptr<T>() : nullptr;
  T* o = out.device_ptr<T>();
  const int64_t plane = g.ho * g.wo;
  const int64_t patch = g.cg * g.kh * g.kw;
  const bool pointwise = is_pointwise(g, p);
  sync_blas_threads();
  if (runs_batched(g, p)) {
    pointwise_batched(false, in, w, g.n, g.c, g.o, plane, o);
    if (b) {
      for (int64_t n = 0; n < g.n; ++n) add_bias(o + n * g.o * plane, b, g.o, plane);
    }
    return;
  }
  // One image per thread when there are enough images; otherwise images in turn with threaded GEMMs.
  auto run_images = [&](int64_t begin, int64_t end) {
    const auto col = uninitialized<T>(pointwise ? 0 : patch * plane);  // im2col writes it whole
    for (int64_t n = begin; n < end; ++n) {
      const T* image = in + n * g.c * g.h * g.w;
      T* result = o + n * g.o * plane;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = image + grp * g.cg * g.h * g.w;
        if (!pointwise) {
          im2col(image, g, p, grp * g.cg, col.get());
          cols = col.get();
        }
        gemm<T>(false, false, g.og, plane, patch, T(1), w + grp * g.og * patch, patch, cols, plane, T(0),
                result + grp * g.og * plane, plane);
      }
      if (b) add_bias(result, b, g.o, plane);
    }
  };
  if (g.n >= get_num_threads()) {
    parallel_for(0, g.n, 1, run_images);
  } else {
    run_images(0, g.n);
  }
}

// Adds col (cg*kh*kw, ho*wo) back into channels [c0, c0 + cg) of one image: the adjoint of im2col.
template <class T>
void col2im(const T* col, const Geometry& g, const Conv2dParams& p, int64_t c0, T* image) {
  const int64_t plane = g.ho * g.wo;
  for (int64_t c = 0; c < g.cg; ++c) {
    T* channel = image + (c0 + c) * g.h * g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* src = col + ((c * g.kh + i) * g.kw + j) * plane;
        for (int64_t y = 0; y < g.ho; ++y) {
          const int64_t iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0];
          if (iy < 0 || iy >= g.h) continue;
          T* dst = channel + iy * g.w;
          const T* row = src + y * g.wo;
          for (int64_t x = 0; x < g.wo; ++x) {
            const int64_t ix = x * p.stride[1] - p.padding[2] + j * p.dilation[1];
            if (ix >= 0 && ix < g.w) dst[ix] += row[x];
          }
        }
      }
    }
  }
}

// dx_g = col2im(W_g^T (patch, og) @ dy_g (og, plane)), per image (one per thread when there are enough).
template <class T>
void backward_input_im2col(const T* dy, const T* w, const Geometry& g, const Conv2dParams& p, T* dx) {
  const int64_t plane = g.ho * g.wo;
  const int64_t patch = g.cg * g.kh * g.kw;
  const bool pointwise = is_pointwise(g, p);
  auto run_images = [&](int64_t begin, int64_t end) {
    const auto col = uninitialized<T>(pointwise ? 0 : patch * plane);  // the GEMM writes it whole (beta 0)
    for (int64_t n = begin; n < end; ++n) {
      T* image = dx + n * g.c * g.h * g.w;
      if (!pointwise) std::fill_n(image, g.c * g.h * g.w, T(0));  // col2im adds into it
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* dy_g = dy + (n * g.o + grp * g.og) * plane;
        const T* w_g = w + grp * g.og * patch;
        if (pointwise) {  // the image itself is the column matrix: write straight into it
          gemm<T>(true, false, patch, plane, g.og, T(1), w_g, patch, dy_g, plane, T(0), image + grp * g.cg * plane,
                  plane);
        } else {
          gemm<T>(true, false, patch, plane, g.og, T(1), w_g, patch, dy_g, plane, T(0), col.get(), plane);
          col2im(col.get(), g, p, grp * g.cg, image);
        }
      }
    }
  };
  if (g.n >= get_num_threads()) {
    parallel_for(0, g.n, 1, run_images);
  } else {
    run_images(0, g.n);
  }
}

// dw_g (og, patch) = sum_n dy_g (og, plane) @ col_n^T (plane, patch). Images are split over threads,
// each with its own partial dw, summed at the end.
template <class T>
void backward_weight_im2col(const T* dy, const T* x, const Geometry& g, const Conv2dParams& p, T* dw) {
  const int64_t plane = g.ho * g.wo;
  const int64_t patch = g.cg * g.kh * g.kw;
  const int64_t weight_size = g.o * patch;
  const bool pointwise = is_pointwise(g, p);
  const int threads = g.n >= get_num_threads() ? get_num_threads() : 1;
  std::vector<std::vector<T>> partial(threads, std::vector<T>(static_cast<size_t>(weight_size), T(0)));
  auto run_images = [&](int64_t begin, int64_t end) {
    T* acc = partial[threads > 1 ? omp_get_thread_num() : 0].data();
    const auto col = uninitialized<T>(pointwise ? 0 : patch * plane);  // im2col writes it whole
    for (int64_t n = begin; n < end; ++n) {
      const T* image = x + n * g.c * g.h * g.w;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = image + grp * g.cg * g.h * g.w;
        if (!pointwise) {
          im2col(image, g, p, grp * g.cg, col.get());
          cols = col.get();
        }
        gemm<T>(false, true, g.og, patch, plane, T(1), dy + (n * g.o + grp * g.og) * plane, plane, cols, plane, T(1),
                acc + grp * g.og * patch, patch);
      }
    }
  };
  if (threads > 1) {
    parallel_for(0, g.n, 1, run_images);
  } else {
    run_images(0, g.n);
  }
  std::copy(partial[0].begin(), partial[0].end(), dw);
  for (int t = 1; t < threads; ++t) {
    for (int64_t i = 0; i < weight_size; ++i) dw[i] += partial[t][i];
  }
}

}  // namespace

void conv2d_im2col_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& p, Tensor& dx) {
  visit_floating(dx.dtype(), "conv2d_backward_input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Geometry g = geometry(dx.shape(), weight.shape(), grad_out.shape(), p.groups);
    sync_blas_threads();
    if (runs_batched(g, p)) {
      pointwise_batched<T>(true, grad_out.device_ptr<T>(), weight.device_ptr<T>(), g.n, g.o, g.c, g.ho * g.wo,
                           dx.device_ptr<T>());
    } else {
      backward_input_im2col<T>(grad_out.device_ptr<T>(), weight.device_ptr<T>(), g, p, dx.device_ptr<T>());
    }
  });
}

void conv2d_im2col_backward_weight(const Tensor& grad_out, const Tensor& input, const Conv2dParams& p, Tensor& dw) {
  visit_floating(dw.dtype(), "conv2d_backward_weight", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Geometry g = geometry(input.shape(), dw.shape(), grad_out.shape(), p.groups);
    sync_blas_threads();
    if (runs_batched(g, p)) {
      pointwise_backward_weight_batched<T>(grad_out.device_ptr<T>(), input.device_ptr<T>(), g, dw.device_ptr<T>());
    } else {
      backward_weight_im2col<T>(grad_out.device_ptr<T>(), input.device_ptr<T>(), g, p, dw.device_ptr<T>());
    }
  });
}

void conv2d_im2col(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  visit_floating(input.dtype(), "conv2d",
                 [&](auto tag) { conv_im2col_typed<typename decltype(tag)::type>(input, weight, bias, p, out); });
}

}  // namespace qn::kernels::cpu
