// stb_image's implementation, compiled once for the engine: decoders for the formats data sets use, reading
// from memory only, with image sides bounded before any pixel buffer is allocated.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 14)
#include <stb_image.h>
