// CPU convolution.
// im2col + GEMM, per image and group g (Cg = C / groups input channels, Og = O / groups outputs):
//   col (Cg*KH*KW, HO*WO):  col[(c, i, j), (y, x)] = input[c, y*sh - pt + i*dh, x*sw - pl + j*dw] (0 outside)
//   out_g (Og, HO*WO) = weight_g (Og, Cg*KH*KW) @ col
// A 1x1 convolution with stride 1 and no padding needs no col: the image itself is (Cg, H*W).
// Depthwise (one input channel per group) is a direct loop: each output channel is a KHxKW stencil.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
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
  const T* in = input.data_ptr<T>();
  const T* w = weight.data_ptr<T>();
  const T* b = bias.defined() ? bias.data_ptr<T>() : nullptr;
  T* o = out.data_ptr<T>();
  const int64_t plane = g.ho * g.wo;
  const int64_t patch = g.cg * g.kh * g.kw;
  const bool pointwise = is_pointwise(g, p);
  sync_blas_threads();
  // One image per thread when there are enough images; otherwise images in turn with threaded GEMMs.
  auto run_images = [&](int64_t begin, int64_t end) {
    std::vector<T> col(pointwise ? 0 : static_cast<size_t>(patch * plane));
    for (int64_t n = begin; n < end; ++n) {
      const T* image = in + n * g.c * g.h * g.w;
      T* result = o + n * g.o * plane;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = image + grp * g.cg * g.h * g.w;
        if (!pointwise) {
          im2col(image, g, p, grp * g.cg, col.data());
          cols = col.data();
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

// The output columns xo of a row whose input column xo * stride + offset lies in [0, w): [lo, hi). With
// them the inner loops of the depthwise kernels run over a plain range, without a test per pixel.
struct ColumnRange {
  int64_t lo, hi;
};
ColumnRange valid_columns(int64_t offset, int64_t stride, int64_t w, int64_t wo) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t hi = offset > w - 1 ? 0 : std::min(wo, (w - 1 - offset) / stride + 1);
  return {lo, std::max(lo, hi)};
}

// Depthwise forward, tap by tap: out[y, x] += k[i, j] * in[y s - pt + i d, x s - pl + j d] over the valid rows
// and columns, so the inner loop is a stride-s run the compiler vectorizes.
template <class T>
void conv_depthwise_typed(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                          Tensor& out) {
  const Geometry g = geometry(input.shape(), weight.shape(), out.shape(), p.groups);
  const int64_t multiplier = g.og;  // outputs per input channel
  const int64_t sy = p.stride[0], sx = p.stride[1];
  const T* in = input.data_ptr<T>();
  const T* w = weight.data_ptr<T>();
  const T* b = bias.defined() ? bias.data_ptr<T>() : nullptr;
  T* o = out.data_ptr<T>();
  parallel_for(0, g.n * g.o, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t oc = t % g.o;
      const T* channel = in + (t / g.o * g.c + oc / multiplier) * g.h * g.w;
      const T* kernel = w + oc * g.kh * g.kw;
      T* dst = o + t * g.ho * g.wo;
      std::fill(dst, dst + g.ho * g.wo, b ? b[oc] : T(0));
      for (int64_t i = 0; i < g.kh; ++i) {
        for (int64_t j = 0; j < g.kw; ++j) {
          const T k = kernel[i * g.kw + j];
          const int64_t offset = j * p.dilation[1] - p.padding[2];
          const ColumnRange cols = valid_columns(offset, sx, g.w, g.wo);
          for (int64_t y = 0; y < g.ho; ++y) {
            const int64_t iy = y * sy - p.padding[0] + i * p.dilation[0];
            if (iy < 0 || iy >= g.h) continue;
            const T* src = channel + iy * g.w;
            T* row = dst + y * g.wo;
            for (int64_t x = cols.lo; x < cols.hi; ++x) row[x] += k * src[x * sx + offset];
          }
        }
      }
    }
  });
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
    std::vector<T> col(static_cast<size_t>(patch * plane));
    for (int64_t n = begin; n < end; ++n) {
      T* image = dx + n * g.c * g.h * g.w;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* dy_g = dy + (n * g.o + grp * g.og) * plane;
        const T* w_g = w + grp * g.og * patch;
        if (pointwise) {  // the image itself is the column matrix: write straight into it
          gemm<T>(true, false, patch, plane, g.og, T(1), w_g, patch, dy_g, plane, T(0), image + grp * g.cg * plane,
                  plane);
        } else {
          gemm<T>(true, false, patch, plane, g.og, T(1), w_g, patch, dy_g, plane, T(0), col.data(), plane);
          col2im(col.data(), g, p, grp * g.cg, image);
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
    std::vector<T> col(pointwise ? 0 : static_cast<size_t>(patch * plane));
    for (int64_t n = begin; n < end; ++n) {
      const T* image = x + n * g.c * g.h * g.w;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = image + grp * g.cg * g.h * g.w;
        if (!pointwise) {
          im2col(image, g, p, grp * g.cg, col.data());
          cols = col.data();
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

// Depthwise gradients, tap by tap as the forward: dx[iy, x s + off] += k * dy[y, x], and dw[i, j] = the sum
// over images and pixels of x[iy, x s + off] * dy[y, x], accumulated column-wise in a row of partial sums
// (vectorized, no reduction per row) that is added up in f64 at the end, in a fixed order.
template <class T>
void backward_depthwise(const T* dy, const T* x, const T* w, const Geometry& g, const Conv2dParams& p, T* dx, T* dw) {
  const int64_t multiplier = g.og;
  const int64_t taps = g.kh * g.kw;
  const int64_t sy = p.stride[0], sx = p.stride[1];
  // Parallel over input channels: each owns its dx plane and the dw rows of its outputs.
  parallel_for(0, g.c, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> partial(static_cast<size_t>(g.wo));
    for (int64_t c = begin; c < end; ++c) {
      for (int64_t m = 0; m < multiplier; ++m) {
        const int64_t oc = c * multiplier + m;
        for (int64_t i = 0; i < g.kh; ++i) {
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t offset = j * p.dilation[1] - p.padding[2];
            const ColumnRange cols = valid_columns(offset, sx, g.w, g.wo);
            const T k = w ? w[oc * taps + i * g.kw + j] : T(0);
            std::fill(partial.begin(), partial.end(), T(0));
            T* acc = partial.data();
            for (int64_t n = 0; n < g.n; ++n) {
              const T* dy_plane = dy + (n * g.o + oc) * g.ho * g.wo;
              for (int64_t y = 0; y < g.ho; ++y) {
                const int64_t iy = y * sy - p.padding[0] + i * p.dilation[0];
                if (iy < 0 || iy >= g.h) continue;
                const T* d = dy_plane + y * g.wo;
                if (dx) {
                  T* dst = dx + (n * g.c + c) * g.h * g.w + iy * g.w;
                  for (int64_t xo = cols.lo; xo < cols.hi; ++xo) dst[xo * sx + offset] += k * d[xo];
                }
                if (dw) {
                  const T* src = x + (n * g.c + c) * g.h * g.w + iy * g.w;
                  for (int64_t xo = cols.lo; xo < cols.hi; ++xo) acc[xo] += src[xo * sx + offset] * d[xo];
                }
              }
            }
            if (dw) {
              double sum = 0;
              for (int64_t xo = cols.lo; xo < cols.hi; ++xo) sum += static_cast<double>(acc[xo]);
              dw[oc * taps + i * g.kw + j] = static_cast<T>(sum);
            }
          }
        }
      }
    }
  });
}

}  // namespace

void conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& p, Tensor& dx) {
  visit_floating(dx.dtype(), "conv2d_backward_input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Geometry g = geometry(dx.shape(), weight.shape(), grad_out.shape(), p.groups);
    sync_blas_threads();
    if (g.cg == 1 && g.groups == g.c && g.c > 1) {
      backward_depthwise<T>(grad_out.data_ptr<T>(), nullptr, weight.data_ptr<T>(), g, p, dx.data_ptr<T>(), nullptr);
    } else {
      backward_input_im2col<T>(grad_out.data_ptr<T>(), weight.data_ptr<T>(), g, p, dx.data_ptr<T>());
    }
  });
}

void conv2d_backward_weight(const Tensor& grad_out, const Tensor& input, const Conv2dParams& p, Tensor& dw) {
  visit_floating(dw.dtype(), "conv2d_backward_weight", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Geometry g = geometry(input.shape(), dw.shape(), grad_out.shape(), p.groups);
    sync_blas_threads();
    if (g.cg == 1 && g.groups == g.c && g.c > 1) {
      dw.zero_();
      backward_depthwise<T>(grad_out.data_ptr<T>(), input.data_ptr<T>(), nullptr, g, p, nullptr, dw.data_ptr<T>());
    } else {
      backward_weight_im2col<T>(grad_out.data_ptr<T>(), input.data_ptr<T>(), g, p, dw.data_ptr<T>());
    }
  });
}

void conv2d_im2col(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  visit_floating(input.dtype(), "conv2d",
                 [&](auto tag) { conv_im2col_typed<typename decltype(tag)::type>(input, weight, bias, p, out); });
}

void conv2d_depthwise(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                      Tensor& out) {
  visit_floating(input.dtype(), "conv2d",
                 [&](auto tag) { conv_depthwise_typed<typename decltype(tag)::type>(input, weight, bias, p, out); });
}

}  // namespace qn::kernels::cpu
