// The EfficientNet recipe's augmentations on 8-bit RGB images, as torchvision 0.14 computes them on uint8
// tensors (its reference ImageNet recipe applies them after RandomResizedCrop and the flip):
//   AutoAugment (Cubuk et al. 2019), ImageNet policy: one of 25 sub-policies, each two (op, probability,
//               magnitude bin of 10) steps, signed ops negated with probability 1/2
//   RandAugment (Cubuk et al. 2020): num_ops ops drawn uniformly from 14, at magnitude bin `magnitude` of
//               `magnitude_bins`, signed ops negated with probability 1/2
// Every op reproduces torchvision's float32 arithmetic and truncation, value for value: the photometric ops'
// separate roundings, and for the geometric ones (shear, translate, rotate; nearest neighbour, zero fill) the
// sampling grid as torch's bmm and grid_sample compute it, since a shear by 0.2 puts a fifth of the samples
// exactly halfway between two pixels.
#pragma once

#include <string>

#include "data/image.h"
#include "data/sample_random.h"

namespace qn::data {

enum class AugmentOp {
  kIdentity,
  kShearX,
  kShearY,
  kTranslateX,
  kTranslateY,
  kRotate,
  kBrightness,
  kColor,
  kContrast,
  kSharpness,
  kPosterize,
  kSolarize,
  kAutoContrast,
  kEqualize,
  kInvert,
};

// torchvision's op name ("ShearX", ...).
const char* augment_op_name(AugmentOp op);

// Applies one op with its signed magnitude in the op's own units: shear factor (tan of the angle), pixels,
// degrees, enhancement factor - 1, bits kept, solarize threshold; ignored by the parameterless ops.
void apply_augment_op(Image& image, AugmentOp op, double magnitude);

// The magnitude of bin `bin` of `bins` for an op on an image of the given size, unsigned (torchvision's
// _augmentation_space, in float32 as torch.linspace computes it); 0 for the ops without one.
double augment_magnitude(AugmentOp op, int bin, int bins, int height, int width);

enum class AugmentPolicy { kNone, kAutoAugmentImageNet, kRandAugment };

struct AugmentOptions {
  AugmentPolicy policy = AugmentPolicy::kNone;
  int num_ops = 2;          // RandAugment
  int magnitude = 9;        // RandAugment
  int magnitude_bins = 31;  // RandAugment
};

// "none", "autoaugment" (the ImageNet policy), "randaugment".
AugmentPolicy parse_augment_policy(const std::string& name);

// Draws and applies the policy's ops.
void augment(Image& image, const AugmentOptions& options, SampleRandom& random);

}  // namespace qn::data
