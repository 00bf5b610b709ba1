// Batches of images for classification: decode, transform (data/image_transforms.h) and stack into
// images f32 [N, 3, size, size] and labels i64 [N]. Sample i of epoch e draws its crop, flip and augmentation
// from SampleRandom(seed, kAugment, e, i), so a batch depends on its indices and epoch only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/auto_augment.h"
#include "data/batching.h"
#include "data/image_folder.h"
#include "data/image_transforms.h"

namespace qn::data {

enum class CorruptImages { kError, kSkip };

struct ImageTransformOptions {
  bool train = true;      // random resized crop + flip; false: resize + center crop
  int size = 224;         // output height and width
  int resize_size = 256;  // evaluation: the short side before the center crop
  RandomCropRange crop;
  double flip_probability = 0.5;
  AugmentOptions augment;  // train only: after the crop and flip, on the 8-bit crop (torchvision's order)
  Normalization normalization;
  CorruptImages on_corrupt = CorruptImages::kError;
  uint64_t seed = 1;
};

struct ImageBatch {
  Tensor images;                     // f32 [N, 3, size, size]
  Tensor labels;                     // i64 [N]
  std::vector<std::string> skipped;  // names of corrupt images left out (CorruptImages::kSkip)
};

class ImageBatchMaker {
 public:
  ImageBatchMaker(std::shared_ptr<const ImageFolder> images, ImageTransformOptions options);

  // Safe to call from several threads at once.
  ImageBatch operator()(const IndexBatch& indices, int64_t epoch) const;

  // One sample, transformed into out[3][size][size]; false when it is corrupt and skipped.
  bool transform(int64_t index, int64_t epoch, float* out) const;

  // Corrupt images skipped so far, over all batches made.
  int64_t skipped_count() const { return skipped_->load(); }
  const ImageFolder& images() const { return *images_; }

 private:
  std::shared_ptr<const ImageFolder> images_;
  ImageTransformOptions options_;
  std::shared_ptr<std::atomic<int64_t>> skipped_ = std::make_shared<std::atomic<int64_t>>(0);
};

}  // namespace qn::data
