#include "data/image.h"

#include <stb_image.h>

#include <climits>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace qn::data {

static_assert(kMaxImageSide == (1 << 14), "keep STBI_MAX_DIMENSIONS in data/stb_image.cpp equal");

Image decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  constexpr const char* kOp = "decode_image";
  QN_CHECK(!bytes.empty(), kOp, "'", name, "' is empty");
  QN_CHECK(bytes.size() <= static_cast<size_t>(INT_MAX), kOp, "'", name, "' has ", bytes.size(),
           " bytes, more than stb_image reads");
  Image image;
  int channels = 0;
  std::unique_ptr<stbi_uc, decltype(&stbi_image_free)> pixels(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &image.width, &image.height, &channels, 3),
      &stbi_image_free);
  QN_CHECK(pixels != nullptr, kOp, "'", name, "' is not a readable image (", stbi_failure_reason(), ")");
  image.source_channels = channels;
  const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width) * 3;
  image.pixels.assign(pixels.get(), pixels.get() + n);
  return image;
}

}  // namespace qn::data
