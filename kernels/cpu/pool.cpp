// CPU pooling: one (H, W) plane per task, windows clipped to the input (max, adaptive) or to the
// padded input (avg with count_include_pad, as PyTorch).
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/pool_windows.h"

namespace qn::kernels::cpu {

void max_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out, Tensor& indices) {
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes g = planes(x, out);
    const T* in = x.device_ptr<T>();
    T* o = out.device_ptr<T>();
    int64_t* idx = indices.device_ptr<int64_t>();
    parallel_for(0, g.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const T* plane = in + c * g.h * g.w;
        for (int64_t y = 0; y < g.ho; ++y) {
          const int64_t y0 = y * p.stride[0] - p.padding[0];
          const int64_t y1 = std::min(y0 + p.kernel[0], g.h);
          for (int64_t x0w = 0; x0w < g.wo; ++x0w) {
            const int64_t x0 = x0w * p.stride[1] - p.padding[1];
            const int64_t x1 = std::min(x0 + p.kernel[1], g.w);
            T best = -std::numeric_limits<T>::infinity();
            int64_t best_at = std::max<int64_t>(y0, 0) * g.w + std::max<int64_t>(x0, 0);
            for (int64_t iy = std::max<int64_t>(y0, 0); iy < y1; ++iy) {
              for (int64_t ix = std::max<int64_t>(x0, 0); ix < x1; ++ix) {
                const T v = plane[iy * g.w + ix];
                if (v > best || (std::isnan(v) && !std::isnan(best))) {  // a NaN wins, as in PyTorch
                  best = v;
                  best_at = iy * g.w + ix;
                }
              }
            }
            const int64_t at = (c * g.ho + y) * g.wo + x0w;
            o[at] = best;
            idx[at] = best_at;
          }
        }
      }
    });
  });
}

namespace {

// out[c, y, x] = sum of plane c over window_of(y, x), divided by its divisor; one plane per task.
template <class WindowOf>
void average_windows(const Tensor& x, Tensor& out, const char* op, const WindowOf& window_of) {
  visit_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes g = planes(x, out);
    const T* in = x.device_ptr<T>();
    T* o = out.device_ptr<T>();
    parallel_for(0, g.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const T* plane = in + c * g.h * g.w;
        for (int64_t y = 0; y < g.ho; ++y) {
          for (int64_t xo = 0; xo < g.wo; ++xo) {
            const Window win = window_of(g, y, xo);
            T total = 0;
            for (int64_t iy = win.ys; iy < win.ye; ++iy) {
              for (int64_t ix = win.xs; ix < win.xe; ++ix) total += plane[iy * g.w + ix];
            }
            o[(c * g.ho + y) * g.wo + xo] = total / static_cast<T>(win.divisor);
          }
        }
      }
    });
  });
}

// dx[c] += grad[c, y, x] / divisor over window_of(y, x): the adjoint of average_windows.
template <class WindowOf>
void spread_windows(const Tensor& grad_out, Tensor& dx, const char* op, const WindowOf& window_of) {
  visit_floating(dx.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes g = planes(dx, grad_out);
    const T* dy = grad_out.device_ptr<T>();
    T* o = dx.device_ptr<T>();
    parallel_for(0, g.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        T* plane = o + c * g.h * g.w;
        for (int64_t y = 0; y < g.ho; ++y) {
          for (int64_t xo = 0; xo < g.wo; ++xo) {
            const Window win = window_of(g, y, xo);
            const T share = dy[(c * g.ho + y) * g.wo + xo] / static_cast<T>(win.divisor);
            for (int64_t iy = win.ys; iy < win.ye; ++iy) {
              for (int64_t ix = win.xs; ix < win.xe; ++ix) plane[iy * g.w + ix] += share;
            }
          }
        }
      }
    });
  });
}

}  // namespace

void avg_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out) {
  average_windows(x, out, "avg_pool2d",
                  [&](const Planes& g, int64_t y, int64_t xo) { return avg_window(p, g, y, xo); });
}

void avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, Tensor& dx) {
  spread_windows(grad_out, dx, "avg_pool2d_backward",
                 [&](const Planes& g, int64_t y, int64_t xo) { return avg_window(p, g, y, xo); });
}

void adaptive_avg_pool2d(const Tensor& x, Tensor& out) {
  average_windows(x, out, "adaptive_avg_pool2d", adaptive_window);
}

void adaptive_avg_pool2d_backward(const Tensor& grad_out, Tensor& dx) {
  spread_windows(grad_out, dx, "adaptive_avg_pool2d_backward", adaptive_window);
}

void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, Tensor& dx) {
  visit_floating(dx.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Planes g = planes(dx, grad_out);
    const T* dy = grad_out.device_ptr<T>();
    const int64_t* idx = indices.device_ptr<int64_t>();
    T* o = dx.device_ptr<T>();
    parallel_for(0, g.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        for (int64_t k = 0; k < g.ho * g.wo; ++k) {
          o[c * g.h * g.w + idx[c * g.ho * g.wo + k]] += dy[c * g.ho * g.wo + k];
        }
      }
    });
  });
}

}  // namespace qn::kernels::cpu
