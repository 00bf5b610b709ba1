#include "data/image_batches.h"

#include "core/error.h"

namespace qn::data {

ImageBatchMaker::ImageBatchMaker(std::shared_ptr<const ImageFolder> images, ImageTransformOptions options)
    : images_(std::move(images)), options_(options) {
  QN_CHECK(images_ != nullptr, "ImageBatchMaker", "no images");
  QN_CHECK(options_.size > 0 && options_.resize_size > 0, "ImageBatchMaker", "expected positive sizes, got ",
           options_.size, " and ", options_.resize_size);
}

bool ImageBatchMaker::transform(int64_t index, int64_t epoch, float* out) const {
  Image image;
  try {
    image = images_->decode(index);
  } catch (const Error&) {
    if (options_.on_corrupt == CorruptImages::kError) throw;
    return false;
  }
  if (!options_.train) {
    resample_normalized(image, resize_center_crop(image.height, image.width, options_.resize_size, options_.size),
                        options_.normalization, out);
    return true;
  }
  // torchvision's order of draws: the crop box, the flip, then the augmentation's.
  SampleRandom random(options_.seed, DrawPurpose::kAugment, epoch, index);
  Resample crop{random_resized_crop_box(image.height, image.width, options_.crop, random),
                options_.size,
                options_.size,
                {0, 0, options_.size, options_.size},
                false};
  crop.flip = random.bernoulli(options_.flip_probability);
  if (options_.augment.policy == AugmentPolicy::kNone) {
    resample_normalized(image, crop, options_.normalization, out);
    return true;
  }
  // The augmentations work on 8-bit pixels: an 8-bit crop (rounded, as PIL's resize is), augmented, normalized.
  Image pixels = resample_to_u8(image, crop);
  augment(pixels, options_.augment, random);
  resample_normalized(pixels, whole_image(pixels.height, pixels.width), options_.normalization, out);
  return true;
}

ImageBatch ImageBatchMaker::operator()(const IndexBatch& indices, int64_t epoch) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t sample_floats = int64_t{3} * options_.size * options_.size;
  Tensor images = empty({n, 3, options_.size, options_.size}, DType::f32);
  std::vector<int64_t> labels;
  ImageBatch batch;
  for (const int64_t index : indices) {
    float* out = images.data_ptr<float>() + static_cast<int64_t>(labels.size()) * sample_floats;
    if (transform(index, epoch, out)) {
      labels.push_back(images_->label(index));
    } else {
      batch.skipped.push_back(images_->name(index));
      skipped_->fetch_add(1);
    }
  }
  const auto kept = static_cast<int64_t>(labels.size());
  batch.images = kept == n ? images : images.narrow(0, 0, kept);  // skipped samples leave rows unused at the end
  batch.labels = from_vector(labels, {kept});
  return batch;
}

}  // namespace qn::data
