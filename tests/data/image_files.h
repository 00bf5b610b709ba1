// Writing small test images with stb_image_write (an encoder independent of the decoder under test).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qn::data::testing {

// pixels: height x width x channels, row-major.
void write_png(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels);
void write_jpeg(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels,
                int quality);

}  // namespace qn::data::testing
