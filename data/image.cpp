#include "data/image.h"

#include <stb_image.h>

#include <climits>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "data/image_checks.h"

namespace qn::data {

static_assert(kMaxImageSide == (1 << 14), "keep STBI_MAX_DIMENSIONS in data/stb_image.cpp equal");

Image decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  constexpr const char* kOp = "decode_image";
  QN_CHECK(!bytes.empty(), kOp, "'", name, "' is empty");
  QN_CHECK(bytes.size() <= static_cast<size_t>(INT_MAX), kOp, "'", name, "' has ", bytes.size(),
           " bytes, more than stb_image reads");
  check_before_decoding(bytes, name);
  Image image;
  int channels = 0;
  // The pixels come in their own channel count and are made RGB here, as stb would with 3 channels asked: stb
  // 2.27 converts a 16-bit PNM's channels as if its samples were 8-bit and reads past its buffer (found by
  // tests/fuzz/image_fuzzer.cpp).
  std::unique_ptr<stbi_uc, decltype(&stbi_image_free)> pixels(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &image.width, &image.height, &channels, 0),
      &stbi_image_free);
  QN_CHECK(pixels != nullptr, kOp, "'", name, "' is not a readable image (", stbi_failure_reason(), ")");
  QN_CHECK(channels >= 1 && channels <= 4, kOp, "'", name, "' has ", channels, " channels");
  image.source_channels = channels;
  const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
  image.pixels.resize(n * 3);
  const stbi_uc* in = pixels.get();
  uint8_t* out = image.pixels.data();
  const int color = channels >= 3 ? 3 : 1;  // channels 2 and 4 carry alpha last, which goes
  for (size_t i = 0; i < n; ++i, in += channels, out += 3) {
    for (int c = 0; c < 3; ++c) out[c] = in[color == 3 ? c : 0];
  }
  return image;
}

}  // namespace qn::data
