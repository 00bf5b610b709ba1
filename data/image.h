// Decoding images with stb_image: JPEG (baseline and progressive), PNG, BMP and PNM, always to 8-bit RGB
// (grayscale and grayscale+alpha are promoted to three equal channels, alpha dropped). The bytes are
// untrusted: a corrupt or truncated image, or one larger than kMaxImageSide on a side or kMaxImagePixels in all, is
// an error naming it (data/image_checks.h guards the stb_image faults that bytes can reach).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qn::data {

struct Image {
  int height = 0;
  int width = 0;
  int source_channels = 0;      // as stored: 1 grayscale, 2 grayscale + alpha, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;  // height x width x 3, row-major, RGB
};

// `name` (a path or archive member) is only used in messages.
Image decode_image(std::span<const uint8_t> bytes, const std::string& name);

// Largest height or width decoded (ImageNet's largest side is under 5,000 pixels).
inline constexpr int kMaxImageSide = 1 << 14;
// Most pixels decoded (33.5 M: 5,792 x 5,792): a 16-bit RGBA image of that many takes 256 MB while decoding.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 25;

}  // namespace qn::data
