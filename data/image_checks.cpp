#include "data/image_checks.h"

#include <stb_image.h>

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "data/image.h"

namespace qn::data {
namespace {

constexpr const char* kOp = "decode_image";

// Debian 12's stb_image (v2.27) trusts the 16 code counts of a JPEG Huffman table (DHT): counts summing past 256
// make it write past the table's 257-entry size list (found by tests/fuzz/image_fuzzer.cpp). Every DHT segment
// stb can reach is checked first:
//   - up to the first scan (SOS), the segments as stb walks them, by their lengths (so that an APPn payload, an
//     ICC profile say, is not mistaken for markers);
//   - after it, every 0xFF 0xC4 up to the first EOI: stb's entropy decoder stops at any 0xFF that is not followed
//     by 0x00 and takes the next byte as a marker, so in a damaged scan any 0xFF 0xC4 may become a DHT. (In a
//     valid file, entropy-coded data holds no 0xFF 0xC4 at all.)
// The DHT at pos is read as stb reads it: tables while its stated length has bytes left, a table's counts read
// even past the segment's end (zeros past the file's).
void check_huffman_segment(std::span<const uint8_t> b, size_t pos, const std::string& name) {
  if (pos + 4 > b.size()) return;  // truncated: stb refuses it itself
  const size_t length = (size_t{b[pos + 2]} << 8) | b[pos + 3];
  const size_t end = std::min(b.size(), pos + 2 + std::max<size_t>(length, 2));
  for (size_t table = pos + 4; table < end;) {
    size_t codes = 0;
    for (size_t i = table + 1; i <= table + 16; ++i) codes += i < b.size() ? b[i] : 0;
    QN_CHECK(codes <= 256, kOp, "'", name, "' is not a readable image (a JPEG Huffman table counts ", codes,
             " codes, more than 256)");
    table += 17 + codes;
  }
}

void check_jpeg_huffman_tables(std::span<const uint8_t> b, const std::string& name) {
  size_t pos = 0;  // SOI, after as many 0xFF fill bytes as stb allows anywhere before a marker
  while (pos + 1 < b.size()) {
    const uint8_t marker = b[pos + 1];
    if (b[pos] != 0xFF || marker == 0xFF) {
      ++pos;  // bytes before a marker, which stb passes over
      continue;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      pos += 2;  // markers without a length
      continue;
    }
    if (marker == 0xD9 || pos + 4 > b.size()) return;  // EOI, or a truncated segment stb refuses itself
    if (marker == 0xC4) check_huffman_segment(b, pos, name);
    const size_t length = (size_t{b[pos + 2]} << 8) | b[pos + 3];
    pos = std::min(b.size(), pos + 2 + std::max<size_t>(length, 2));
    if (marker == 0xDA) break;  // the first scan: from here on, see above
  }
  for (; pos + 1 < b.size(); ++pos) {
    if (b[pos] != 0xFF) continue;
    if (b[pos + 1] == 0xD9) return;
    if (b[pos + 1] == 0xC4) check_huffman_segment(b, pos, name);
  }
}

// stb 2.27 grows its buffer for a PNG's image data (IDAT) to each chunk's stated length before reading it: a
// file of a few bytes could make it allocate gigabytes (found by tests/fuzz/image_fuzzer.cpp). Every chunk up to
// IEND must lie inside the file.
void check_png_chunks(std::span<const uint8_t> b, const std::string& name) {
  size_t pos = 8;  // after the signature
  while (pos + 8 <= b.size()) {
    const uint64_t length =
        (uint64_t{b[pos]} << 24) | (uint64_t{b[pos + 1]} << 16) | (uint64_t{b[pos + 2]} << 8) | b[pos + 3];
    const bool end = std::equal(b.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                                b.begin() + static_cast<std::ptrdiff_t>(pos + 8), "IEND");
    QN_CHECK(length + 12 <= b.size() - pos, kOp, "'", name, "' is not a readable image (a PNG chunk of ", length,
             " bytes runs past the end of the file)");
    if (end) return;
    pos += 12 + length;
  }
}

// stb 2.27 reads a PNM header's width, height and maximum value into an int without an overflow check (UB found
// by tests/fuzz/image_fuzzer.cpp). The three numbers are read here as stb reads them (whitespace and '#'
// comments before each) and may have at most 9 digits.
void check_pnm_header(std::span<const uint8_t> b, const std::string& name) {
  auto space = [](uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  size_t pos = 2;  // after "P5" or "P6"
  for (int number = 0; number < 3; ++number) {
    for (;;) {
      while (pos < b.size() && space(b[pos])) ++pos;
      if (pos >= b.size() || b[pos] != '#') break;
      while (pos < b.size() && b[pos] != '\n' && b[pos] != '\r') ++pos;
    }
    size_t digits = 0;
    for (; pos < b.size() && b[pos] >= '0' && b[pos] <= '9'; ++pos) ++digits;
    QN_CHECK(digits <= 9, kOp, "'", name, "' is not a readable image (a PNM header number of ", digits, " digits)");
  }
}

}  // namespace

void check_before_decoding(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() >= 2 && bytes[0] == 0xFF) check_jpeg_huffman_tables(bytes, name);  // stb's test for JPEG
  if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6')) check_pnm_header(bytes, name);
  static constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= 8 && std::equal(bytes.begin(), bytes.begin() + 8, kPngSignature)) check_png_chunks(bytes, name);
  // The header's size bounds what decoding allocates: stb reads it alone here first.
  int width = 0, height = 0, channels = 0;
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX)), &width, &height,
                            &channels) == 1) {
    QN_CHECK(int64_t{width} * height <= kMaxImagePixels, kOp, "'", name, "' is ", width, " x ", height,
             " pixels, more than the ", kMaxImagePixels, " decoded");
  }
}

}  // namespace qn::data
