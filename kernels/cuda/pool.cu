// CUDA pooling: one thread per output cell forward, as kernels/cpu/pool.cpp computes it (the windows come from
// kernels/pool_windows.h); the backward passes add each output's gradient into its window's cells atomically, since
// windows may overlap (floating sums may then differ from the CPU in the last bits).
#include <cmath>
#include <limits>

#include "kernels/cuda/kernel_support.cuh"
#include "kernels/pool_windows.h"

namespace qn::kernels::cuda {
namespace {

template <class T>
__global__ void max_pool_kernel(const T* in, Pool2dParams p, Planes g, T* out, int64_t* indices) {
  QN_GRID_STRIDE_LOOP(k, g.count * g.ho * g.wo) {
    const int64_t xo = k % g.wo, y = (k / g.wo) % g.ho, c = k / (g.wo * g.ho);
    const T* plane = in + c * g.h * g.w;
    const int64_t y0 = y * p.stride[0] - p.padding[0], x0 = xo * p.stride[1] - p.padding[1];
    const int64_t y1 = min(y0 + p.kernel[0], g.h), x1 = min(x0 + p.kernel[1], g.w);
    T best = -std::numeric_limits<T>::infinity();
    int64_t best_at = max(y0, int64_t{0}) * g.w + max(x0, int64_t{0});
    for (int64_t iy = max(y0, int64_t{0}); iy < y1; ++iy) {
      for (int64_t ix = max(x0, int64_t{0}); ix < x1; ++ix) {
        const T v = plane[iy * g.w + ix];
        if (v > best || (isnan(v) && !isnan(best))) {  // a NaN wins, as in PyTorch
          best = v;
          best_at = iy * g.w + ix;
        }
      }
    }
    out[k] = best;
    indices[k] = best_at;
  }
}

// adaptive: windows from adaptive_window, else from avg_window with p.
template <class T>
__global__ void avg_pool_kernel(const T* in, Pool2dParams p, bool adaptive, Planes g, T* out) {
  QN_GRID_STRIDE_LOOP(k, g.count * g.ho * g.wo) {
    const int64_t xo = k % g.wo, y = (k / g.wo) % g.ho, c = k / (g.wo * g.ho);
    const Window win = adaptive ? adaptive_window(g, y, xo) : avg_window(p, g, y, xo);
    const T* plane = in + c * g.h * g.w;
    T total = 0;
    for (int64_t iy = win.ys; iy < win.ye; ++iy) {
      for (int64_t ix = win.xs; ix < win.xe; ++ix) total += plane[iy * g.w + ix];
    }
    out[k] = total / static_cast<T>(win.divisor);
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(const T* grad_out, Pool2dParams p, bool adaptive, Planes g, T* dx) {
  QN_GRID_STRIDE_LOOP(k, g.count * g.ho * g.wo) {
    const int64_t xo = k % g.wo, y = (k / g.wo) % g.ho, c = k / (g.wo * g.ho);
    const Window win = adaptive ? adaptive_window(g, y, xo) : avg_window(p, g, y, xo);
    const T share = grad_out[k] / static_cast<T>(win.divisor);
    T* plane = dx + c * g.h * g.w;
    for (int64_t iy = win.ys; iy < win.ye; ++iy) {
      for (int64_t ix = win.xs; ix < win.xe; ++ix) atomicAdd(plane + iy * g.w + ix, share);
    }
  }
}

template <class T>
__global__ void max_pool_backward_kernel(const T* grad_out, const int64_t* indices, Planes g, T* dx) {
  QN_GRID_STRIDE_LOOP(k, g.count * g.ho * g.wo) {
    const int64_t c = k / (g.ho * g.wo);
    atomicAdd(dx + c * g.h * g.w + indices[k], grad_out[k]);
  }
}

void launch_avg(const Tensor& x, const Pool2dParams& p, bool adaptive, Tensor& out, const char* op) {
  const Planes g = planes(x, out);
  const int64_t n = g.count * g.ho * g.wo;
  if (n == 0) return;
  visit_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    avg_pool_kernel<T>
        <<<grid_for(n), kBlock, 0, stream_of(out)>>>(device_ptr<const T>(x), p, adaptive, g, device_ptr<T>(out));
  });
  check_launch(op);
}

void launch_avg_backward(const Tensor& grad_out, const Pool2dParams& p, bool adaptive, Tensor& dx, const char* op) {
  const Planes g = planes(dx, grad_out);
  const int64_t n = g.count * g.ho * g.wo;
  if (n == 0) return;
  visit_floating(dx.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    avg_pool_backward_kernel<T>
        <<<grid_for(n), kBlock, 0, stream_of(dx)>>>(device_ptr<const T>(grad_out), p, adaptive, g, device_ptr<T>(dx));
  });
  check_launch(op);
}

}  // namespace

void max_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out, Tensor& indices) {
  const Planes g = planes(x, out);
  const int64_t n = g.count * g.ho * g.wo;
  if (n == 0) return;
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_pool_kernel<T><<<grid_for(n), kBlock, 0, stream_of(out)>>>(device_ptr<const T>(x), p, g, device_ptr<T>(out),
                                                                   device_ptr<int64_t>(indices));
  });
  check_launch("max_pool2d");
}

void avg_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out) { launch_avg(x, p, false, out, "avg_pool2d"); }

void adaptive_avg_pool2d(const Tensor& x, Tensor& out) { launch_avg(x, {}, true, out, "adaptive_avg_pool2d"); }

void avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, Tensor& dx) {
  launch_avg_backward(grad_out, p, false, dx, "avg_pool2d_backward");
}

void adaptive_avg_pool2d_backward(const Tensor& grad_out, Tensor& dx) {
  launch_avg_backward(grad_out, {}, true, dx, "adaptive_avg_pool2d_backward");
}

void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, Tensor& dx) {
  const Planes g = planes(dx, grad_out);
  const int64_t n = g.count * g.ho * g.wo;
  if (n == 0) return;
  visit_floating(dx.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_pool_backward_kernel<T><<<grid_for(n), kBlock, 0, stream_of(dx)>>>(
        device_ptr<const T>(grad_out), device_ptr<const int64_t>(indices), g, device_ptr<T>(dx));
  });
  check_launch("max_pool2d_backward");
}

}  // namespace qn::kernels::cuda
