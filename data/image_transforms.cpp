#include "data/image_transforms.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace qn::data {
namespace {

constexpr const char* kOp = "resample_normalized";

// Python's round(): halves to even (the default floating-point rounding mode).
int round_half_even(double x) { return static_cast<int>(std::nearbyint(x)); }

// For each output position of a window along one axis: the first input index and the normalized weights of
// the antialiased triangle filter (PIL's precompute_coeffs, torch's _compute_indices_min_size_weights_aa).
struct AxisWeights {
  std::vector<int> first;      // per output position, relative to the source box
  std::vector<int> count;      // taps per output position
  std::vector<float> weights;  // output position o's taps at [o * max_taps, o * max_taps + count[o])
  int max_taps = 0;
};

AxisWeights axis_weights(int in_size, int out_size, int window_start, int window_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's half-width is 1 input pixel, widened when shrinking
  AxisWeights axis;
  axis.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(static_cast<size_t>(window_size));
  axis.count.resize(static_cast<size_t>(window_size));
  axis.weights.assign(static_cast<size_t>(window_size) * static_cast<size_t>(axis.max_taps), 0.0f);
  std::vector<double> w(static_cast<size_t>(axis.max_taps));
  for (int o = 0; o < window_size; ++o) {
    const double center = (window_start + o + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);  // truncation, as in C
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int taps = std::min(hi - lo, axis.max_taps);
    double total = 0.0;
    for (int k = 0; k < taps; ++k) {
      const double t = std::abs((k + lo - center + 0.5) / filter_scale);
      w[static_cast<size_t>(k)] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[static_cast<size_t>(k)];
    }
    axis.first[static_cast<size_t>(o)] = lo;
    axis.count[static_cast<size_t>(o)] = taps;
    for (int k = 0; k < taps; ++k)
      axis.weights[static_cast<size_t>(o * axis.max_taps + k)] =
          static_cast<float>(total > 0.0 ? w[static_cast<size_t>(k)] / total : 0.0);
  }
  return axis;
}

bool inside(const CropBox& box, int height, int width) {
  return box.height > 0 && box.width > 0 && box.top >= 0 && box.left >= 0 && box.top + box.height <= height &&
         box.left + box.width <= width;
}

}  // namespace

CropBox random_resized_crop_box(int height, int width, const RandomCropRange& range, SampleRandom& random) {
  const double area = static_cast<double>(height) * width;
  const double log_ratio_min = std::log(range.ratio_min), log_ratio_max = std::log(range.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * random.uniform(range.scale_min, range.scale_max);
    const double aspect = std::exp(random.uniform(log_ratio_min, log_ratio_max));
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = static_cast<int>(random.below(height - h + 1));
      const int left = static_cast<int>(random.below(width - w + 1));
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < range.ratio_min) {
    h = round_half_even(w / range.ratio_min);
  } else if (in_ratio > range.ratio_max) {
    w = round_half_even(h * range.ratio_max);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

Resample resize_center_crop(int height, int width, int resize_size, int size) {
  QN_CHECK(resize_size > 0 && size > 0, "resize_center_crop", "expected positive sizes, got resize ", resize_size,
           " and crop ", size);
  const int short_side = std::min(height, width), long_side = std::max(height, width);
  const int new_long = static_cast<int>(static_cast<int64_t>(resize_size) * long_side / short_side);
  const int resized_h = height <= width ? resize_size : new_long;
  const int resized_w = height <= width ? new_long : resize_size;
  QN_CHECK(size <= resized_h && size <= resized_w, "resize_center_crop", "crop ", size, " is larger than the ",
           resized_h, "x", resized_w, " resized image");
  const CropBox window = {round_half_even((resized_h - size) / 2.0), round_half_even((resized_w - size) / 2.0), size,
                          size};
  return {{0, 0, height, width}, resized_h, resized_w, window, false};
}

void resample_normalized(const Image& image, const Resample& r, const Normalization& normalization, float* out) {
  QN_CHECK(inside(r.source, image.height, image.width), kOp, "source box ", r.source.height, "x", r.source.width,
           " at (", r.source.top, ", ", r.source.left, ") is outside the ", image.height, "x", image.width, " image");
  QN_CHECK(r.resized_height > 0 && r.resized_width > 0 && inside(r.window, r.resized_height, r.resized_width), kOp,
           "window ", r.window.height, "x", r.window.width, " is outside the ", r.resized_height, "x", r.resized_width,
           " resized image");
  const AxisWeights rows = axis_weights(r.source.height, r.resized_height, r.window.top, r.window.height);
  const AxisWeights cols = axis_weights(r.source.width, r.resized_width, r.window.left, r.window.width);
  const int out_w = r.window.width, out_h = r.window.height;

  // Horizontal pass over the source rows the vertical taps touch: tmp[row][x][c].
  int row_lo = r.source.height, row_hi = 0;
  for (int y = 0; y < out_h; ++y) {
    row_lo = std::min(row_lo, rows.first[static_cast<size_t>(y)]);
    row_hi = std::max(row_hi, rows.first[static_cast<size_t>(y)] + rows.count[static_cast<size_t>(y)]);
  }
  const size_t row_floats = static_cast<size_t>(out_w) * 3;
  std::vector<float> tmp(static_cast<size_t>(std::max(row_hi - row_lo, 0)) * row_floats);
  for (int sy = row_lo; sy < row_hi; ++sy) {
    const uint8_t* src =
        image.pixels.data() + (static_cast<size_t>(r.source.top + sy) * static_cast<size_t>(image.width) +
                               static_cast<size_t>(r.source.left)) *
                                  3;
    float* dst = tmp.data() + static_cast<size_t>(sy - row_lo) * row_floats;
    for (int x = 0; x < out_w; ++x) {
      const uint8_t* p = src + static_cast<size_t>(cols.first[static_cast<size_t>(x)]) * 3;
      const float* w = cols.weights.data() + static_cast<size_t>(x) * static_cast<size_t>(cols.max_taps);
      float c0 = 0.0f, c1 = 0.0f, c2 = 0.0f;
      for (int k = 0; k < cols.count[static_cast<size_t>(x)]; ++k, p += 3) {
        c0 += w[k] * p[0];
        c1 += w[k] * p[1];
        c2 += w[k] * p[2];
      }
      dst[3 * x] = c0;
      dst[3 * x + 1] = c1;
      dst[3 * x + 2] = c2;
    }
  }

  // Vertical pass, then normalization into planes: (value / 255 - mean) / std = value * a + b.
  std::array<float, 3> a{}, b{};
  for (int c = 0; c < 3; ++c) {
    a[static_cast<size_t>(c)] = 1.0f / (255.0f * normalization.stddev[static_cast<size_t>(c)]);
    b[static_cast<size_t>(c)] =
        -normalization.mean[static_cast<size_t>(c)] / normalization.stddev[static_cast<size_t>(c)];
  }
  std::vector<float> acc(row_floats);
  const size_t plane = static_cast<size_t>(out_h) * static_cast<size_t>(out_w);
  for (int y = 0; y < out_h; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = rows.weights.data() + static_cast<size_t>(y) * static_cast<size_t>(rows.max_taps);
    const int first = rows.first[static_cast<size_t>(y)] - row_lo;
    for (int k = 0; k < rows.count[static_cast<size_t>(y)]; ++k) {
      const float* src = tmp.data() + static_cast<size_t>(first + k) * row_floats;
      const float wk = w[k];
      for (size_t i = 0; i < row_floats; ++i) acc[i] += wk * src[i];
    }
    for (int c = 0; c < 3; ++c) {
      float* dst = out + static_cast<size_t>(c) * plane + static_cast<size_t>(y) * static_cast<size_t>(out_w);
      const float ac = a[static_cast<size_t>(c)], bc = b[static_cast<size_t>(c)];
      if (r.flip) {
        for (int x = 0; x < out_w; ++x) dst[out_w - 1 - x] = acc[static_cast<size_t>(3 * x + c)] * ac + bc;
      } else {
        for (int x = 0; x < out_w; ++x) dst[x] = acc[static_cast<size_t>(3 * x + c)] * ac + bc;
      }
    }
  }
}

Resample whole_image(int height, int width) {
  return {{0, 0, height, width}, height, width, {0, 0, height, width}, false};
}

Image resample_to_u8(const Image& image, const Resample& resample) {
  const int h = resample.window.height, w = resample.window.width;
  const Normalization identity{{0.0f, 0.0f, 0.0f}, {1.0f / 255.0f, 1.0f / 255.0f, 1.0f / 255.0f}};
  std::vector<float> planes(static_cast<size_t>(3 * h * w));
  resample_normalized(image, resample, identity, planes.data());
  Image out{h, w, 3, std::vector<uint8_t>(planes.size())};
  const size_t plane = static_cast<size_t>(h * w);
  for (size_t i = 0; i < plane; ++i)
    for (size_t c = 0; c < 3; ++c)
      out.pixels[3 * i + c] = static_cast<uint8_t>(std::nearbyint(std::clamp(planes[c * plane + i], 0.0f, 255.0f)));
  return out;
}

}  // namespace qn::data
