#include "nn/quant/scalar.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops.h"

namespace qn::nn::quant {
namespace {

constexpr float kEps = std::numeric_limits<float>::epsilon();

void check_bits(int bits) { QN_CHECK(bits >= 1 && bits <= 16, "quantize", "bits must lie in [1, 16], got ", bits); }

// Counts per bin of [min, max] as torch.histc does: bin floor((x - min) nbins / (max - min)), in f32, the
// maximum in the last bin.
std::vector<double> histogram(const Tensor& w, float min, float max, int64_t bins) {
  std::vector<double> counts(static_cast<size_t>(bins), 0.0);
  const Tensor data = w.to(Device::cpu()).to(DType::f32).contiguous();
  const float* x = data.data_ptr<float>();
  const float range = max - min;
  for (int64_t i = 0; i < data.numel(); ++i) {
    auto pos = static_cast<int64_t>((x[i] - min) * static_cast<float>(bins) / range);
    pos = std::clamp<int64_t>(pos, 0, bins - 1);
    counts[static_cast<size_t>(pos)] += 1.0;
  }
  return counts;
}

// The integral of x^2 over [delta_begin, delta_end] times the density: the L2 error of one source bin's
// mass against a destination bin centre.
double norm_of(double delta_begin, double delta_end, double density) {
  return density * (delta_end * delta_end * delta_end - delta_begin * delta_begin * delta_begin) / 3.0;
}

// HistogramObserver._compute_quantization_error: the expected L2 error of quantizing the histogram's mass
// with dst_bins uniform bins spanning source bins [start, end].
double quantization_error(const std::vector<double>& hist, double bin_width, int64_t start, int64_t end,
                          int64_t dst_bins) {
  const double dst_width = bin_width * static_cast<double>(end - start + 1) / static_cast<double>(dst_bins);
  if (dst_width == 0.0) return 0.0;
  double total = 0.0;
  for (size_t i = 0; i < hist.size(); ++i) {
    const double begin = (static_cast<double>(i) - static_cast<double>(start)) * bin_width;
    const double finish = begin + bin_width;
    const double dst_begin = std::clamp(std::floor(begin / dst_width), 0.0, static_cast<double>(dst_bins - 1));
    const double dst_end = std::clamp(std::floor(finish / dst_width), 0.0, static_cast<double>(dst_bins - 1));
    const double density = hist[i] / bin_width;
    const double begin_centre = (dst_begin + 0.5) * dst_width;
    const double end_centre = dst_end * dst_width + dst_width / 2;
    total += norm_of(begin - begin_centre, dst_width / 2, density);
    total += (dst_end - dst_begin - 1) * norm_of(-dst_width / 2, dst_width / 2, density);
    total += norm_of(-dst_width / 2, finish - end_centre, density);
  }
  return total;
}

}  // namespace

const char* observer_name(Observer observer) {
  switch (observer) {
    case Observer::kMinMax:
      return "minmax";
    case Observer::kHistogram:
      return "histogram";
    case Observer::kPerChannel:
      return "channel";
  }
  return "?";
}

QParams affine_qparams(float min, float max, int bits) {
  check_bits(bits);
  QParams q;
  q.bits = bits;
  const float min_neg = std::min(min, 0.0f), max_pos = std::max(max, 0.0f);
  const float scale = std::max((max_pos - min_neg) / static_cast<float>(q.qmax()), kEps);
  const auto zero = static_cast<int64_t>(-std::nearbyint(min_neg / scale));
  q.scale = {scale};
  q.zero_point = {static_cast<int32_t>(std::clamp<int64_t>(zero, 0, q.qmax()))};
  return q;
}

std::pair<float, float> histogram_range(const Tensor& w, int bits, int64_t bins) {
  check_bits(bits);
  const kernels::MinMax extremes = kernels::min_max(w, false);
  const float min = extremes.min[0], max = extremes.max[0];
  if (!(max > min)) return {min, max};
  const std::vector<double> hist = histogram(w, min, max, bins);
  const int64_t dst_bins = int64_t{1} << bits;
  std::vector<double> cumulative(hist.size());
  double total = 0.0;
  for (size_t i = 0; i < hist.size(); ++i) cumulative[i] = total += hist[i];

  // Greedy: shrink [start, end] by quantile steps, each time from the side that gains more bins, until
  // the error stops falling.
  const double bin_width = (static_cast<double>(max) - static_cast<double>(min)) / static_cast<double>(bins);
  constexpr double kStep = 1e-5;
  double alpha = 0.0, beta = 1.0;
  int64_t start = 0, end = bins - 1;
  double best = std::numeric_limits<double>::infinity();
  while (alpha < beta) {
    const double next_alpha = alpha + kStep, next_beta = beta - kStep;
    int64_t l = start, r = end;
    while (l < end && cumulative[static_cast<size_t>(l)] < next_alpha * total) ++l;
    while (r > start && cumulative[static_cast<size_t>(r)] > next_beta * total) --r;
    int64_t next_start = start, next_end = end;
    if (l - start > end - r) {
      next_start = l;
      alpha = next_alpha;
    } else {
      next_end = r;
      beta = next_beta;
    }
    if (next_start == start && next_end == end) continue;
    const double error = quantization_error(hist, bin_width, next_start, next_end, dst_bins);
    if (error > best) break;
    best = error;
    start = next_start;
    end = next_end;
  }
  const float width = (max - min) / static_cast<float>(bins);
  return {min + width * static_cast<float>(start), min + width * static_cast<float>(end + 1)};
}

QParams observe(const Tensor& w, int bits, Observer observer) {
  check_bits(bits);
  switch (observer) {
    case Observer::kMinMax: {
      const kernels::MinMax m = kernels::min_max(w, false);
      return affine_qparams(m.min[0], m.max[0], bits);
    }
    case Observer::kHistogram: {
      const auto [lo, hi] = histogram_range(w, bits);
      return affine_qparams(lo, hi, bits);
    }
    case Observer::kPerChannel: {
      const kernels::MinMax m = kernels::min_max(w, true);
      QParams q;
      q.bits = bits;
      const float half_range = static_cast<float>(q.qmax()) / 2.0f;
      for (size_t c = 0; c < m.min.size(); ++c) {
        const float magnitude = std::max(-std::min(m.min[c], 0.0f), std::max(m.max[c], 0.0f));
        q.scale.push_back(std::max(magnitude / half_range, kEps));
        q.zero_point.push_back(static_cast<int32_t>((q.qmax() + 1) / 2));
      }
      return q;
    }
  }
  throw_error("quantize", "unknown observer");
}

ScalarFakeQuantizer::ScalarFakeQuantizer(int bits, Observer observer, int64_t update_step)
    : bits_(bits), observer_(observer), update_step_(update_step) {
  check_bits(bits);
  QN_CHECK(update_step >= 1, "quantize", "update_step must be >= 1, got ", update_step);
}

Tensor ScalarFakeQuantizer::apply(const Tensor& x, double p, Generator* generator) {
  if (calls_ % update_step_ == 0) qparams_ = observe(x.detach(), bits_, observer_);
  ++calls_;
  const Tensor uniforms = p < 1 ? rand(x.shape(), TensorOptions(DType::f32, x.device()), generator) : Tensor();
  const kernels::ScalarNoise mixed = kernels::scalar_quant_noise(x.detach(), qparams_, uniforms, p);
  return straight_through(x, mixed.value, mixed.pass);
}

}  // namespace qn::nn::quant
