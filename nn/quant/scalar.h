// Scalar int8/int4 quantization parameters, computed as PyTorch's observers compute them (PAPER.md 2.1),
// with the int4 scale corrected (the scale spans 2^bits - 1 steps, not always 255):
//   kMinMax      per tensor:  m- = min(min w, 0), m+ = max(max w, 0), s = max((m+ - m-) / qmax, eps),
//                             z = clamp(-round(m- / s), 0, qmax)       (f32 arithmetic, round half to even)
//   kHistogram   per tensor:  the same on a clipped range: PyTorch HistogramObserver's search over a
//                             2048-bin histogram for the window with least expected L2 rounding error
//   kPerChannel  per output channel (dim 0), symmetric: s = max(|m-|, m+) / (qmax / 2), z = (qmax + 1) / 2
#pragma once

#include <utility>

#include "kernels/quant.h"

namespace qn::nn::quant {

enum class Observer { kMinMax, kHistogram, kPerChannel };
const char* observer_name(Observer observer);

QParams affine_qparams(float min, float max, int bits);
QParams observe(const Tensor& w, int bits, Observer observer);

// HistogramObserver's clipping window for w at `bits` (its L2 search with 2^bits target bins).
std::pair<float, float> histogram_range(const Tensor& w, int bits, int64_t bins = 2048);

}  // namespace qn::nn::quant
