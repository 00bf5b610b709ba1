#include "data/auto_augment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/error.h"

namespace qn::data {
namespace {

uint8_t& at(Image& image, int y, int x, int c) {
  return image.pixels[(static_cast<size_t>(y) * static_cast<size_t>(image.width) + static_cast<size_t>(x)) * 3 +
                      static_cast<size_t>(c)];
}

// torch's float -> uint8 conversion of a value already clamped to [0, 255]: truncation.
uint8_t to_u8(float v) { return static_cast<uint8_t>(v); }

// _blend: (ratio * a + (1 - ratio) * b), each product in float32, clamped, truncated.
uint8_t blend(float ratio, float one_minus_ratio, float a, float b) {
  return to_u8(std::clamp(ratio * a + one_minus_ratio * b, 0.0f, 255.0f));
}

// rgb_to_grayscale on uint8: (0.2989 r + 0.587 g + 0.114 b) in float32, truncated.
uint8_t grayscale(const uint8_t* p) {
  return to_u8(0.2989f * static_cast<float>(p[0]) + 0.587f * static_cast<float>(p[1]) +
               0.114f * static_cast<float>(p[2]));
}

// Blends every channel value v with other(pixel index, channel).
template <typename Other>
void blend_with(Image& image, double factor, Other other) {
  const auto ratio = static_cast<float>(factor), rest = static_cast<float>(1.0 - factor);
  const size_t pixels = image.pixels.size() / 3;
  for (size_t i = 0; i < pixels; ++i)
    for (size_t c = 0; c < 3; ++c)
      image.pixels[3 * i + c] = blend(ratio, rest, static_cast<float>(image.pixels[3 * i + c]), other(i, c));
}

// Nearest-neighbour resampling through torchvision's inverse affine matrix (center relative to the image
// center), pixels outside the source set to 0, following _gen_affine_grid and grid_sample(align_corners=False)
// float32 step by step.
void affine_nearest(Image& image, double angle_degrees, double translate_x, double translate_y, double shear_x_degrees,
                    double shear_y_degrees, double center_x, double center_y) {
  const double rot = angle_degrees * std::numbers::pi / 180.0;
  const double sx = shear_x_degrees * std::numbers::pi / 180.0, sy = shear_y_degrees * std::numbers::pi / 180.0;
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  std::array<double, 6> m = {d, -b, 0.0, -c, a, 0.0};
  m[2] += m[0] * (-center_x - translate_x) + m[1] * (-center_y - translate_y) + center_x;
  m[5] += m[3] * (-center_x - translate_x) + m[4] * (-center_y - translate_y) + center_y;
  const int w = image.width, h = image.height;
  const float half_w = 0.5f * static_cast<float>(w), half_h = 0.5f * static_cast<float>(h);
  const std::array<float, 6> r = {static_cast<float>(m[0]) / half_w, static_cast<float>(m[1]) / half_w,
                                  static_cast<float>(m[2]) / half_w, static_cast<float>(m[3]) / half_h,
                                  static_cast<float>(m[4]) / half_h, static_cast<float>(m[5]) / half_h};
  const Image source = image;
  for (int y = 0; y < h; ++y) {
    const float gy0 = static_cast<float>(y) - half_h + 0.5f;
    for (int x = 0; x < w; ++x) {
      const float gx0 = static_cast<float>(x) - half_w + 0.5f;
      // The grid as torch's bmm computes it (a chain of fused multiply-adds), then grid_sample's unnormalize.
      const float gx = std::fma(1.0f, r[2], std::fma(gy0, r[1], gx0 * r[0]));
      const float gy = std::fma(1.0f, r[5], std::fma(gy0, r[4], gx0 * r[3]));
      const float ix = std::nearbyint((gx + 1.0f) * half_w - 0.5f);
      const float iy = std::nearbyint((gy + 1.0f) * half_h - 0.5f);
      const bool inside = ix >= 0.0f && ix < static_cast<float>(w) && iy >= 0.0f && iy < static_cast<float>(h);
      for (int ch = 0; ch < 3; ++ch)
        at(image, y, x, ch) =
            inside ? source.pixels[(static_cast<size_t>(iy) * static_cast<size_t>(w) + static_cast<size_t>(ix)) * 3 +
                                   static_cast<size_t>(ch)]
                   : 0;
    }
  }
}

double degrees(double radians) { return radians * 180.0 / std::numbers::pi; }

void sharpness(Image& image, double factor) {
  if (image.width <= 2 || image.height <= 2) return;
  // The degenerate image: a 3x3 smoothing ([1 1 1; 1 5 1; 1 1 1] / 13) of the interior, rounded; borders kept.
  const float edge = 1.0f / 13.0f, center = 5.0f / 13.0f;
  Image degenerate = image;
  for (int y = 1; y + 1 < image.height; ++y)
    for (int x = 1; x + 1 < image.width; ++x)
      for (int c = 0; c < 3; ++c) {
        float sum = 0.0f;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx)
            sum += (dy == 0 && dx == 0 ? center : edge) * static_cast<float>(at(image, y + dy, x + dx, c));
        at(degenerate, y, x, c) = static_cast<uint8_t>(std::nearbyint(std::clamp(sum, 0.0f, 255.0f)));
      }
  blend_with(image, factor, [&](size_t i, size_t c) { return static_cast<float>(degenerate.pixels[3 * i + c]); });
}

void autocontrast(Image& image) {
  for (size_t c = 0; c < 3; ++c) {
    uint8_t lo = 255, hi = 0;
    for (size_t i = c; i < image.pixels.size(); i += 3) {
      lo = std::min(lo, image.pixels[i]);
      hi = std::max(hi, image.pixels[i]);
    }
    const float minimum = lo == hi ? 0.0f : static_cast<float>(lo);
    const float scale = lo == hi ? 1.0f : 255.0f / (static_cast<float>(hi) - static_cast<float>(lo));
    for (size_t i = c; i < image.pixels.size(); i += 3)
      image.pixels[i] = to_u8(std::clamp((static_cast<float>(image.pixels[i]) - minimum) * scale, 0.0f, 255.0f));
  }
}

// Per channel: PIL's equalize as torchvision computes it (histogram, step from all but the last non-empty bin,
// lookup table from the cumulative counts).
void equalize(Image& image) {
  for (size_t c = 0; c < 3; ++c) {
    std::array<int64_t, 256> histogram{};
    for (size_t i = c; i < image.pixels.size(); i += 3) ++histogram[image.pixels[i]];
    int64_t last_nonzero = 0, nonzero_total = 0;
    for (const int64_t count : histogram) {
      if (count == 0) continue;
      nonzero_total += count;
      last_nonzero = count;
    }
    const int64_t step = (nonzero_total - last_nonzero) / 255;
    if (step == 0) continue;
    std::array<uint8_t, 256> lut{};
    int64_t cumulative = 0;
    for (size_t v = 0; v < 256; ++v) {
      lut[v] = static_cast<uint8_t>(std::clamp<int64_t>((cumulative + step / 2) / step, 0, 255));  // shifted by one
      cumulative += histogram[v];
    }
    for (size_t i = c; i < image.pixels.size(); i += 3) image.pixels[i] = lut[image.pixels[i]];
  }
}

// float32 torch.linspace(start, end, steps)[i], as its scalar loop computes it.
double linspace_f32(float start, float end, int steps, int i) {
  if (steps == 1) return start;
  const float step = (end - start) / static_cast<float>(steps - 1);
  return i < steps / 2 ? start + step * static_cast<float>(i) : end - step * static_cast<float>(steps - i - 1);
}

bool is_signed(AugmentOp op) {
  switch (op) {
    case AugmentOp::kShearX:
    case AugmentOp::kShearY:
    case AugmentOp::kTranslateX:
    case AugmentOp::kTranslateY:
    case AugmentOp::kRotate:
    case AugmentOp::kBrightness:
    case AugmentOp::kColor:
    case AugmentOp::kContrast:
    case AugmentOp::kSharpness:
      return true;
    default:
      return false;
  }
}

struct PolicyStep {
  AugmentOp op;
  double probability;
  int bin;  // -1: no magnitude
};
using SubPolicy = std::array<PolicyStep, 2>;

// The ImageNet policy of AutoAugment, in torchvision's order.
const std::array<SubPolicy, 25>& imagenet_policy() {
  using enum AugmentOp;
  static const std::array<SubPolicy, 25> policy = {{
      {{{kPosterize, 0.4, 8}, {kRotate, 0.6, 9}}},    {{{kSolarize, 0.6, 5}, {kAutoContrast, 0.6, -1}}},
      {{{kEqualize, 0.8, -1}, {kEqualize, 0.6, -1}}}, {{{kPosterize, 0.6, 7}, {kPosterize, 0.6, 6}}},
      {{{kEqualize, 0.4, -1}, {kSolarize, 0.2, 4}}},  {{{kEqualize, 0.4, -1}, {kRotate, 0.8, 8}}},
      {{{kSolarize, 0.6, 3}, {kEqualize, 0.6, -1}}},  {{{kPosterize, 0.8, 5}, {kEqualize, 1.0, -1}}},
      {{{kRotate, 0.2, 3}, {kSolarize, 0.6, 8}}},     {{{kEqualize, 0.6, -1}, {kPosterize, 0.4, 6}}},
      {{{kRotate, 0.8, 8}, {kColor, 0.4, 0}}},        {{{kRotate, 0.4, 9}, {kEqualize, 0.6, -1}}},
      {{{kEqualize, 0.0, -1}, {kEqualize, 0.8, -1}}}, {{{kInvert, 0.6, -1}, {kEqualize, 1.0, -1}}},
      {{{kColor, 0.6, 4}, {kContrast, 1.0, 8}}},      {{{kRotate, 0.8, 8}, {kColor, 1.0, 2}}},
      {{{kColor, 0.8, 8}, {kSolarize, 0.8, 7}}},      {{{kSharpness, 0.4, 7}, {kInvert, 0.6, -1}}},
      {{{kShearX, 0.6, 5}, {kEqualize, 1.0, -1}}},    {{{kColor, 0.4, 0}, {kEqualize, 0.6, -1}}},
      {{{kEqualize, 0.4, -1}, {kSolarize, 0.2, 4}}},  {{{kSolarize, 0.6, 5}, {kAutoContrast, 0.6, -1}}},
      {{{kInvert, 0.6, -1}, {kEqualize, 1.0, -1}}},   {{{kColor, 0.6, 4}, {kContrast, 1.0, 8}}},
      {{{kEqualize, 0.8, -1}, {kEqualize, 0.6, -1}}},
  }};
  return policy;
}

// RandAugment's 14 ops, in torchvision's order.
constexpr std::array<AugmentOp, 14> kRandAugmentOps = {
    AugmentOp::kIdentity,     AugmentOp::kShearX,    AugmentOp::kShearY,     AugmentOp::kTranslateX,
    AugmentOp::kTranslateY,   AugmentOp::kRotate,    AugmentOp::kBrightness, AugmentOp::kColor,
    AugmentOp::kContrast,     AugmentOp::kSharpness, AugmentOp::kPosterize,  AugmentOp::kSolarize,
    AugmentOp::kAutoContrast, AugmentOp::kEqualize};

}  // namespace

const char* augment_op_name(AugmentOp op) {
  static constexpr std::array<const char*, 15> kNames = {
      "Identity", "ShearX",    "ShearY",    "TranslateX", "TranslateY",   "Rotate",   "Brightness", "Color",
      "Contrast", "Sharpness", "Posterize", "Solarize",   "AutoContrast", "Equalize", "Invert"};
  return kNames[static_cast<size_t>(op)];
}

double augment_magnitude(AugmentOp op, int bin, int bins, int height, int width) {
  QN_CHECK(bins >= 2 && bin >= 0 && bin < bins, "augment_magnitude", "bin ", bin, " of ", bins, " bins");
  switch (op) {
    case AugmentOp::kShearX:
    case AugmentOp::kShearY:
      return linspace_f32(0.0f, 0.3f, bins, bin);
    case AugmentOp::kTranslateX:
      return linspace_f32(0.0f, static_cast<float>(150.0 / 331.0 * width), bins, bin);
    case AugmentOp::kTranslateY:
      return linspace_f32(0.0f, static_cast<float>(150.0 / 331.0 * height), bins, bin);
    case AugmentOp::kRotate:
      return linspace_f32(0.0f, 30.0f, bins, bin);
    case AugmentOp::kBrightness:
    case AugmentOp::kColor:
    case AugmentOp::kContrast:
    case AugmentOp::kSharpness:
      return linspace_f32(0.0f, 0.9f, bins, bin);
    case AugmentOp::kPosterize:
      return 8 - std::nearbyint(static_cast<float>(bin) / static_cast<float>((bins - 1) / 4.0));
    case AugmentOp::kSolarize:
      return linspace_f32(255.0f, 0.0f, bins, bin);
    default:
      return 0.0;
  }
}

void apply_augment_op(Image& image, AugmentOp op, double magnitude) {
  switch (op) {
    case AugmentOp::kIdentity:
      return;
    case AugmentOp::kShearX:  // about the top-left corner, as torchvision's AutoAugment does
      return affine_nearest(image, 0.0, 0.0, 0.0, degrees(std::atan(magnitude)), 0.0, -0.5 * image.width,
                            -0.5 * image.height);
    case AugmentOp::kShearY:
      return affine_nearest(image, 0.0, 0.0, 0.0, 0.0, degrees(std::atan(magnitude)), -0.5 * image.width,
                            -0.5 * image.height);
    case AugmentOp::kTranslateX:  // whole pixels (int() of the magnitude)
      return affine_nearest(image, 0.0, std::trunc(magnitude), 0.0, 0.0, 0.0, 0.0, 0.0);
    case AugmentOp::kTranslateY:
      return affine_nearest(image, 0.0, 0.0, std::trunc(magnitude), 0.0, 0.0, 0.0, 0.0);
    case AugmentOp::kRotate:  // counter-clockwise; F.rotate hands the affine grid -angle
      return affine_nearest(image, -magnitude, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    case AugmentOp::kBrightness:
      return blend_with(image, 1.0 + magnitude, [](size_t, size_t) { return 0.0f; });
    case AugmentOp::kColor: {
      std::vector<uint8_t> gray(image.pixels.size() / 3);
      for (size_t i = 0; i < gray.size(); ++i) gray[i] = grayscale(&image.pixels[3 * i]);
      return blend_with(image, 1.0 + magnitude, [&](size_t i, size_t) { return static_cast<float>(gray[i]); });
    }
    case AugmentOp::kContrast: {
      // The mean grayscale level: an integer sum below 2^24 for any image up to 256x256 is exact in float32.
      double sum = 0.0;
      const size_t pixels = image.pixels.size() / 3;
      for (size_t i = 0; i < pixels; ++i) sum += grayscale(&image.pixels[3 * i]);
      const auto mean = static_cast<float>(static_cast<float>(sum) / static_cast<float>(pixels));
      return blend_with(image, 1.0 + magnitude, [&](size_t, size_t) { return mean; });
    }
    case AugmentOp::kSharpness:
      return sharpness(image, 1.0 + magnitude);
    case AugmentOp::kPosterize: {
      const int bits = static_cast<int>(magnitude);
      QN_CHECK(bits >= 0 && bits <= 8, "apply_augment_op", "Posterize keeps 0..8 bits, got ", bits);
      const auto mask = static_cast<uint8_t>(0xFF00u >> bits);
      for (auto& v : image.pixels) v &= mask;
      return;
    }
    case AugmentOp::kSolarize:
      for (auto& v : image.pixels)
        if (static_cast<double>(v) >= magnitude) v = static_cast<uint8_t>(255 - v);
      return;
    case AugmentOp::kAutoContrast:
      return autocontrast(image);
    case AugmentOp::kEqualize:
      return equalize(image);
    case AugmentOp::kInvert:
      for (auto& v : image.pixels) v = static_cast<uint8_t>(255 - v);
      return;
  }
}

AugmentPolicy parse_augment_policy(const std::string& name) {
  if (name == "none") return AugmentPolicy::kNone;
  if (name == "autoaugment") return AugmentPolicy::kAutoAugmentImageNet;
  if (name == "randaugment") return AugmentPolicy::kRandAugment;
  throw_error("parse_augment_policy", "unknown augmentation '" + name + "' (none, autoaugment, randaugment)");
}

void augment(Image& image, const AugmentOptions& options, SampleRandom& random) {
  switch (options.policy) {
    case AugmentPolicy::kNone:
      return;
    case AugmentPolicy::kAutoAugmentImageNet: {
      // torchvision's draws: a sub-policy, two probabilities, two signs (0: negate a signed op).
      const SubPolicy& steps = imagenet_policy()[static_cast<size_t>(random.below(25))];
      const std::array<double, 2> draws = {random.uniform(), random.uniform()};
      const std::array<int64_t, 2> signs = {random.below(2), random.below(2)};
      for (size_t i = 0; i < 2; ++i) {
        const PolicyStep& step = steps[i];
        if (draws[i] > step.probability) continue;
        double magnitude = step.bin < 0 ? 0.0 : augment_magnitude(step.op, step.bin, 10, image.height, image.width);
        if (is_signed(step.op) && signs[i] == 0) magnitude = -magnitude;
        apply_augment_op(image, step.op, magnitude);
      }
      return;
    }
    case AugmentPolicy::kRandAugment: {
      QN_CHECK(options.num_ops >= 0 && options.magnitude >= 0 && options.magnitude < options.magnitude_bins, "augment",
               "RandAugment needs 0 <= magnitude < magnitude_bins, got ", options.magnitude, " of ",
               options.magnitude_bins);
      for (int k = 0; k < options.num_ops; ++k) {
        const AugmentOp op = kRandAugmentOps[static_cast<size_t>(random.below(kRandAugmentOps.size()))];
        double magnitude = augment_magnitude(op, options.magnitude, options.magnitude_bins, image.height, image.width);
        if (is_signed(op) && random.below(2) == 1) magnitude = -magnitude;  // a sign drawn for signed ops only
        apply_augment_op(image, op, magnitude);
      }
      return;
    }
  }
}

}  // namespace qn::data
