#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "tests/data/image_files.h"

#include <stb_image_write.h>

#include <stdexcept>

namespace qn::data::testing {

void write_png(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels) {
  if (!stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels))
    throw std::runtime_error("cannot write " + path);
}

void write_jpeg(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels,
                int quality) {
  if (!stbi_write_jpg(path.c_str(), width, height, channels, pixels.data(), quality))
    throw std::runtime_error("cannot write " + path);
}

}  // namespace qn::data::testing
