// CPU depthwise convolution: one input channel per group, `multiplier` output channels per input channel.
//
// The networks that use it have small planes and many channels (EfficientNet: 112x112 down to 1x1; 14x14 down
// to 1x1 on 28x28 images), so the kernels work channels-last: each image is copied to rows of channels
// (pixels, O), every tap is then a multiply-add over a contiguous run of O channels, which vectorizes whatever
// the plane size, and the result is copied back to planes. Input channel c feeds output channels
// [c m, c m + m); the channels-last copy repeats it m times, so every tap reads one channel per output.
//
//   forward  out[n, y, x, o] = b[o] + sum_{i,j} w[o, i, j] in[n, y sy - pt + i dy, x sx - pl + j dx, o]
//   dx       dx[n, iy, ix, o] = sum of w[o, i, j] dy[n, y, x, o] over the taps with iy = y sy - pt + i dy and
//            ix = x sx - pl + j dx: a gather, so rows of dx split over threads without races; the planes of dx
//            then sum the m copies of each input channel.
//   dw       dw[o, i, j] = sum_{n, y, x} in[n, iy, ix, o] dy[n, y, x, o], accumulated per fixed group of images
//            and added up over the groups in f64, in an order that does not depend on the thread count.
// Each image is copied to rows, convolved and copied back while its rows are in cache (L2): the copies cost
// little next to the stencil, where whole-batch copies were memory-bound.
#include <algorithm>
#include <memory>
#include <vector>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/transpose.h"

namespace qn::kernels::cpu {
namespace {

struct DepthwiseGeometry {
  int64_t n, c, h, w;  // input
  int64_t o, kh, kw;   // weight (o, 1, kh, kw)
  int64_t ho, wo;      // output
  int64_t multiplier;  // o / c
  const Conv2dParams& p;

  int64_t taps() const { return kh * kw; }
  // The input row (column) that tap i (j) of output row y (column x) reads; outside [0, h) it is padding.
  int64_t input_row(int64_t y, int64_t i) const { return y * p.stride[0] - p.padding[0] + i * p.dilation[0]; }
  int64_t input_col(int64_t x, int64_t j) const { return x * p.stride[1] - p.padding[2] + j * p.dilation[1]; }
  // The output row that tap i of input row iy feeds, or -1 when none does.
  int64_t output_row(int64_t iy, int64_t i) const {
    return feeding(iy + p.padding[0] - i * p.dilation[0], p.stride[0], ho);
  }
  int64_t output_col(int64_t ix, int64_t j) const {
    return feeding(ix + p.padding[2] - j * p.dilation[1], p.stride[1], wo);
  }

 private:
  static int64_t feeding(int64_t offset, int64_t stride, int64_t size) {
    if (offset < 0 || offset % stride != 0) return -1;
    return offset / stride < size ? offset / stride : -1;
  }
};

DepthwiseGeometry geometry(const Shape& input, const Shape& weight, const Shape& out, const Conv2dParams& p) {
  return {input[0], input[1], input[2], input[3], weight[0], weight[2], weight[3], out[2], out[3], weight[0] / input[1],
          p};
}

// rows (pixels, c m) from the planes (c, pixels) of one image, each channel repeated m times.
template <class T>
void to_channels_last(const T* planes, int64_t c, int64_t pixels, int64_t m, T* rows) {
  if (m == 1) return transpose(planes, c, pixels, rows);
  for (int64_t px = 0; px < pixels; ++px) {
    T* row = rows + px * c * m;
    for (int64_t ch = 0; ch < c; ++ch) std::fill(row + ch * m, row + ch * m + m, planes[ch * pixels + px]);
  }
}

// planes (c, pixels) of one image from rows (pixels, c m), the m copies of each channel summed.
template <class T>
void from_channels_last(const T* rows, int64_t c, int64_t pixels, int64_t m, T* planes) {
  if (m == 1) return transpose(rows, pixels, c, planes);
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t px = 0; px < pixels; ++px) {
      const T* copies = rows + px * c * m + ch * m;
      T sum = copies[0];
      for (int64_t k = 1; k < m; ++k) sum += copies[k];
      planes[ch * pixels + px] = sum;
    }
  }
}

// taps (kh kw, o) from weight (o, 1, kh, kw).
template <class T>
std::unique_ptr<T[]> taps_channels_last(const T* weight, const DepthwiseGeometry& g) {
  auto taps = uninitialized<T>(g.taps() * g.o);
  for (int64_t oc = 0; oc < g.o; ++oc) {
    for (int64_t t = 0; t < g.taps(); ++t) taps[t * g.o + oc] = weight[oc * g.taps() + t];
  }
  return taps;
}

// acc[0, len) += k[0, len) * v[0, len)
template <class T>
inline void multiply_add(T* __restrict acc, const T* __restrict k, const T* __restrict v, int64_t len) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) acc[i] += k[i] * v[i];
}

// Calls f(tap, pixel) for each tap i kw + j of output pixel (y, x) that reads an input pixel iy w + ix inside
// the image (the others read padding).
template <class F>
void for_each_tap(const DepthwiseGeometry& g, int64_t y, int64_t x, const F& f) {
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t iy = g.input_row(y, i);
    if (iy < 0 || iy >= g.h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t ix = g.input_col(x, j);
      if (ix >= 0 && ix < g.w) f(i * g.kw + j, iy * g.w + ix);
    }
  }
}

// Calls body(image, scratch) for every image, with two channels-last buffers of `first` and `second`
// elements per thread. Images split over threads; a single image runs on the calling thread, where the
// parallel_for calls inside body split its rows instead (nested in a parallel region they run serially).
template <class T, class Body>
void for_each_image(int64_t images, int64_t first, int64_t second, const Body& body) {
  parallel_for(0, images, 1, [&](int64_t begin, int64_t end) {
    auto a = uninitialized<T>(first);
    auto b = uninitialized<T>(second);
    for (int64_t n = begin; n < end; ++n) body(n, a.get(), b.get());
  });
}

template <class T>
void forward_typed(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                   Tensor& out) {
  const DepthwiseGeometry g = geometry(input.shape(), weight.shape(), out.shape(), params);
  const int64_t o = g.o, in_plane = g.h * g.w, out_plane = g.ho * g.wo;
  auto taps = taps_channels_last(weight.device_ptr<T>(), g);  // (kh kw, o)
  const T* b = bias.defined() ? bias.device_ptr<T>() : nullptr;
  for_each_image<T>(g.n, in_plane * o, out_plane * o, [&](int64_t n, T* in_rows, T* out_rows) {
    to_channels_last(input.device_ptr<T>() + n * g.c * in_plane, g.c, in_plane, g.multiplier, in_rows);
    parallel_for(0, g.ho, 1, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y) {
        for (int64_t x = 0; x < g.wo; ++x) {
          T* acc = out_rows + (y * g.wo + x) * o;
          if (b) {
            std::copy(b, b + o, acc);
          } else {
            std::fill(acc, acc + o, T(0));
          }
          for_each_tap(g, y, x, [&](int64_t tap, int64_t pixel) {
            multiply_add(acc, taps.get() + tap * o, in_rows + pixel * o, o);
          });
        }
      }
    });
    from_channels_last(out_rows, o, out_plane, 1, out.device_ptr<T>() + n * o * out_plane);
  });
}

template <class T>
void backward_input_typed(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& params, Tensor& dx) {
  const DepthwiseGeometry g = geometry(dx.shape(), weight.shape(), grad_out.shape(), params);
  const int64_t o = g.o, in_plane = g.h * g.w, out_plane = g.ho * g.wo;
  auto taps = taps_channels_last(weight.device_ptr<T>(), g);
  // The output row (column) each tap of each input row (column) feeds, looked up rather than divided out.
  std::vector<int64_t> fed_row(static_cast<size_t>(g.h * g.kh)), fed_col(static_cast<size_t>(g.w * g.kw));
  for (int64_t iy = 0; iy < g.h; ++iy) {
    for (int64_t i = 0; i < g.kh; ++i) fed_row[iy * g.kh + i] = g.output_row(iy, i);
  }
  for (int64_t ix = 0; ix < g.w; ++ix) {
    for (int64_t j = 0; j < g.kw; ++j) fed_col[ix * g.kw + j] = g.output_col(ix, j);
  }
  // dx_rows holds one gradient per output channel; the m of an input channel are summed into its plane.
  for_each_image<T>(g.n, out_plane * o, in_plane * o, [&](int64_t n, T* dy_rows, T* dx_rows) {
    to_channels_last(grad_out.device_ptr<T>() + n * o * out_plane, o, out_plane, 1, dy_rows);
    parallel_for(0, g.h, 1, [&](int64_t iy0, int64_t iy1) {
      for (int64_t iy = iy0; iy < iy1; ++iy) {
        for (int64_t ix = 0; ix < g.w; ++ix) {
          T* acc = dx_rows + (iy * g.w + ix) * o;
          std::fill(acc, acc + o, T(0));
          for (int64_t i = 0; i < g.kh; ++i) {
            const int64_t y = fed_row[iy * g.kh + i];
            if (y < 0) continue;
            for (int64_t j = 0; j < g.kw; ++j) {
              const int64_t x = fed_col[ix * g.kw + j];
              if (x < 0) continue;
              multiply_add(acc, taps.get() + (i * g.kw + j) * o, dy_rows + (y * g.wo + x) * o, o);
            }
          }
        }
      }
    });
    from_channels_last(dx_rows, g.c, in_plane, g.multiplier, dx.device_ptr<T>() + n * g.c * in_plane);
  });
}

template <class T>
void backward_weight_typed(const Tensor& grad_out, const Tensor& input, const Conv2dParams& params, Tensor& dw) {
  const DepthwiseGeometry g = geometry(input.shape(), dw.shape(), grad_out.shape(), params);
  const int64_t o = g.o, taps = g.taps(), in_plane = g.h * g.w, out_plane = g.ho * g.wo;
  // Partial sums per group of images, each group summed in image order; the group count depends on the
  // batch only, so the result does not depend on the thread count.
  const int64_t groups = std::min<int64_t>(g.n, 16);
  auto partial = uninitialized<T>(groups * taps * o);  // (groups, kh kw, o)
  parallel_for(0, groups, 1, [&](int64_t begin, int64_t end) {
    auto in_rows = uninitialized<T>(in_plane * o);
    auto dy_rows = uninitialized<T>(out_plane * o);
    for (int64_t grp = begin; grp < end; ++grp) {
      T* sums = partial.get() + grp * taps * o;
      std::fill(sums, sums + taps * o, T(0));
      for (int64_t n = grp * g.n / groups; n < (grp + 1) * g.n / groups; ++n) {
        to_channels_last(input.device_ptr<T>() + n * g.c * in_plane, g.c, in_plane, g.multiplier, in_rows.get());
        to_channels_last(grad_out.device_ptr<T>() + n * o * out_plane, o, out_plane, 1, dy_rows.get());
        for (int64_t y = 0; y < g.ho; ++y) {
          for (int64_t x = 0; x < g.wo; ++x) {
            const T* d = dy_rows.get() + (y * g.wo + x) * o;
            for_each_tap(g, y, x, [&](int64_t tap, int64_t pixel) {
              multiply_add(sums + tap * o, d, in_rows.get() + pixel * o, o);
            });
          }
        }
      }
    }
  });
  // The groups' sums added in group order, each group's (kh kw, o) block read along its channels; split over
  // channels, so that each thread writes only its own rows of dw.
  T* result = dw.device_ptr<T>();  // (o, 1, kh, kw)
  parallel_for(0, o, std::max<int64_t>(1, 4096 / std::max<int64_t>(taps * groups, 1)), [&](int64_t o0, int64_t o1) {
    std::vector<double> sums(static_cast<size_t>(o1 - o0));
    for (int64_t t = 0; t < taps; ++t) {
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int64_t grp = 0; grp < groups; ++grp) {
        const T* block = partial.get() + (grp * taps + t) * o;
        for (int64_t oc = o0; oc < o1; ++oc) sums[oc - o0] += static_cast<double>(block[oc]);
      }
      for (int64_t oc = o0; oc < o1; ++oc) result[oc * taps + t] = static_cast<T>(sums[oc - o0]);
    }
  });
}

}  // namespace

void conv2d_depthwise(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                      Tensor& out) {
  visit_floating(input.dtype(), "conv2d",
                 [&](auto tag) { forward_typed<typename decltype(tag)::type>(input, weight, bias, p, out); });
}

void conv2d_depthwise_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& p, Tensor& dx) {
  visit_floating(dx.dtype(), "conv2d_backward_input",
                 [&](auto tag) { backward_input_typed<typename decltype(tag)::type>(grad_out, weight, p, dx); });
}

void conv2d_depthwise_backward_weight(const Tensor& grad_out, const Tensor& input, const Conv2dParams& p, Tensor& dw) {
  visit_floating(dw.dtype(), "conv2d_backward_weight",
                 [&](auto tag) { backward_weight_typed<typename decltype(tag)::type>(grad_out, input, p, dw); });
}

}  // namespace qn::kernels::cpu
