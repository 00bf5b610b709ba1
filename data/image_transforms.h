// The ImageNet training and evaluation transforms of torchvision, fused into one resampling pass that writes
// a normalized f32 CHW tensor:
//   train  RandomResizedCrop(size, scale, ratio) + RandomHorizontalFlip(p) + ToTensor + Normalize
//   eval   Resize(resize_size, short side) + CenterCrop(size) + ToTensor + Normalize
// Resizing is the antialiased bilinear (triangle) filter of PIL and of torch's interpolate(antialias=True):
// when shrinking by s the filter widens to s input pixels, so small crops are not aliased. The random
// choices come from the caller's SampleRandom, drawn in torchvision's order.
#pragma once

#include <array>

#include "data/image.h"
#include "data/sample_random.h"

namespace qn::data {

// A rectangle of an image, in pixels.
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};

// torchvision's RandomResizedCrop.get_params: up to ten tries of an area fraction in [scale_min, scale_max]
// and a log-uniform aspect ratio in [ratio_min, ratio_max] that fit, else the largest central crop within the
// ratio range.
struct RandomCropRange {
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
};
CropBox random_resized_crop_box(int height, int width, const RandomCropRange& range, SampleRandom& random);

// Per-channel mean and standard deviation of pixel / 255 (ImageNet's by default).
struct Normalization {
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> stddev = {0.229f, 0.224f, 0.225f};
};

// One resampling: the `source` box of the image is resized to resized_height x resized_width, and the
// `window` of that resized image is written (mirrored left-right when flip) as normalized f32 to
// out[3][window.height][window.width].
struct Resample {
  CropBox source;
  int resized_height = 0, resized_width = 0;
  CropBox window;
  bool flip = false;
};
void resample_normalized(const Image& image, const Resample& resample, const Normalization& normalization, float* out);

// The Resample that copies a height x width image as it is.
Resample whole_image(int height, int width);

// The same resampling to 8-bit RGB (values rounded to nearest), for transforms that work on pixels.
Image resample_to_u8(const Image& image, const Resample& resample);

// The Resample of Resize(resize_size) + CenterCrop(size): the short side scaled to resize_size (the long
// side truncated, as torchvision computes it), then the central size x size window (offsets rounded).
Resample resize_center_crop(int height, int width, int resize_size, int size);

}  // namespace qn::data
