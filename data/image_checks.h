// Checks run on an image's bytes before stb_image decodes them: the faults of the stb_image that Debian 12 ships
// (v2.27) that untrusted bytes can reach, and the size bounds that keep decoding from asking for gigabytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace qn::data {

// Throws qn::Error naming the image when its bytes would make stb misbehave or allocate beyond the bounds.
void check_before_decoding(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace qn::data
