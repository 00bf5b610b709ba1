// Scalar int8/int4 quantization parameters, computed as PyTorch's observers compute them (docs/METHOD.md, scalar
// quantization), with the int4 scale corrected (the scale spans 2^bits - 1 steps, not always 255):
//   kMinMax      per tensor:  m- = min(min w, 0), m+ = max(max w, 0), s = max((m+ - m-) / qmax, eps),
//                             z = clamp(-round(m- / s), 0, qmax)       (f32 arithmetic, round half to even)
//   kHistogram   per tensor:  the same on a clipped range: PyTorch HistogramObserver's search over a
//                             2048-bin histogram for the window with least expected L2 rounding error
//   kPerChannel  per output channel (dim 0), symmetric: s = max(|m-|, m+) / (qmax / 2), z = (qmax + 1) / 2
#pragma once

#include <cstdint>
#include <utility>

#include "core/generator.h"
#include "kernels/quant.h"

namespace qn::nn::quant {

enum class Observer { kMinMax, kHistogram, kPerChannel };
const char* observer_name(Observer observer);

QParams affine_qparams(float min, float max, int bits);
QParams observe(const Tensor& w, int bits, Observer observer);

// HistogramObserver's clipping window for w at `bits` (its L2 search with 2^bits target bins).
std::pair<float, float> histogram_range(const Tensor& w, int bits, int64_t bins = 2048);

// Fake quantization with noise mixing and a straight-through gradient (docs/METHOD.md, scalar quantization), shared by
// weights and activations: each element is replaced by its quantized value with probability p, the rest are clamped,
//   out = clamp(x) + m * (Q(x) - clamp(x)),   dL/dx = dL/dout * [x inside the range],
// with (s, z) recomputed from the (detached) input on calls 0, update_step, 2 update_step, ...
class ScalarFakeQuantizer {
 public:
  ScalarFakeQuantizer(int bits, Observer observer, int64_t update_step);

  // p = 1 quantizes every element and draws nothing; otherwise one f32 uniform per element from generator.
  Tensor apply(const Tensor& x, double p, Generator* generator);

  int bits() const { return bits_; }
  int64_t calls() const { return calls_; }
  const QParams& qparams() const { return qparams_; }

 private:
  int bits_;
  Observer observer_;
  int64_t update_step_;
  int64_t calls_ = 0;
  QParams qparams_;
};

}  // namespace qn::nn::quant
