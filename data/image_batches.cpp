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
  Resample resample;
  if (options_.train) {
    SampleRandom random(options_.seed, DrawPurpose::kAugment, epoch, index);
    resample.source = random_resized_crop_box(image.height, image.width, options_.crop, random);
    resample.resized_height = resample.resized_width = options_.size;
    resample.window = {0, 0, options_.size, options_.size};
    resample.flip = random.bernoulli(options_.flip_probability);
    if (options_.augment.policy != AugmentPolicy::kNone) {
      // The augmentations work on 8-bit pixels: resize to an 8-bit crop (rounded, as PIL's resize is), augment,
      // then normalize.
      Image crop = resample_to_u8(image, resample);
      augment(crop, options_.augment, random);
      resample_normalized(
          crop, {{0, 0, crop.height, crop.width}, crop.height, crop.width, {0, 0, crop.height, crop.width}, false},
          options_.normalization, out);
      return true;
    }
  } else {
    resample = resize_center_crop(image.height, image.width, options_.resize_size, options_.size);
  }
  resample_normalized(image, resample, options_.normalization, out);
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
