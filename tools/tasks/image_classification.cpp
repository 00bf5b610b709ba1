// image_classification: labelled images from an IDX directory (train-* and t10k-* files), an ImageNet-style
// folder (train/, val/) or a tar(.gz) of one (train/, test/). Folders and archives go through ImageBatchMaker
// (RandomResizedCrop and flip in training, resize and center crop in evaluation, ImageNet normalization); IDX
// images are only standardized with the training set's mean and deviation, as their usual recipes do.
#include <filesystem>

#include "data/idx.h"
#include "data/image_batches.h"
#include "data/loader.h"
#include "kernels/reduce.h"
#include "models/efficientnet.h"
#include "tools/tasks/task_parts.h"

namespace qn::tasks {
namespace {

namespace fs = std::filesystem;
constexpr const char* kOp = "image_classification";

// One split of labelled images, made into batches.
class ImageSplit {
 public:
  virtual ~ImageSplit() = default;
  virtual int64_t size() const = 0;
  virtual data::ImageBatch make(const data::IndexBatch& indices, int64_t epoch) const = 0;
};

// IDX images u8 (N, H, W) and labels, standardized into f32 (B, 1, H, W).
class IdxSplit : public ImageSplit {
 public:
  IdxSplit(Tensor images, Tensor labels, float mean, float stddev)
      : images_(std::move(images)), labels_(std::move(labels)), mean_(mean), stddev_(stddev) {}
  int64_t size() const override { return images_.size(0); }
  data::ImageBatch make(const data::IndexBatch& indices, int64_t) const override {
    const Tensor rows = from_vector(indices);
    const Tensor pixels = index_select(images_, 0, rows).to(DType::f32).unsqueeze(1);
    data::ImageBatch batch;
    batch.images = mul(add(pixels, -255.0 * mean_), 1.0 / (255.0 * stddev_));
    batch.labels = index_select(labels_, 0, rows);
    return batch;
  }

 private:
  Tensor images_, labels_;
  float mean_, stddev_;
};

class FolderSplit : public ImageSplit {
 public:
  FolderSplit(std::shared_ptr<const data::ImageFolder> images, const data::ImageTransformOptions& transform)
      : maker_(std::move(images), transform) {}
  int64_t size() const override { return maker_.images().size(); }
  data::ImageBatch make(const data::IndexBatch& indices, int64_t epoch) const override {
    return maker_(indices, epoch);
  }

 private:
  data::ImageBatchMaker maker_;
};

std::string idx_file(const fs::path& dir, const std::string& stem) {
  for (const char* suffix : {"", ".gz"}) {
    const fs::path path = dir / (stem + suffix);
    if (fs::exists(path)) return path.string();
  }
  throw_error(kOp, detail::concat("'", dir.string(), "' has no ", stem, "(.gz)"));
}

bool is_archive(const std::string& path) {
  return path.ends_with(".tar") || path.ends_with(".tar.gz") || path.ends_with(".tgz");
}

// The folder prefixes that may hold a split, in order of preference.
std::vector<std::string> split_folders(const std::string& split) {
  if (split == "train") return {"train"};
  if (split == "valid") return {"val", "valid", "test"};
  if (split == "test") return {"test", "val", "valid"};
  return {split};
}

class ImageClassificationTask : public Task {
 public:
  explicit ImageClassificationTask(const TaskOptions& options) : options_(options) {
    QN_CHECK(fs::exists(options.data), kOp, "no data at '", options.data, "'");
    idx_ = fs::is_directory(options.data) && !fs::exists(fs::path(options.data) / "train") &&
           (fs::exists(fs::path(options.data) / "train-images-idx3-ubyte.gz") ||
            fs::exists(fs::path(options.data) / "train-images-idx3-ubyte"));
    if (idx_) {
      load_idx();
    } else {
      train_folder_ = open_folder("train");
      classes_ = static_cast<int64_t>(train_folder_->classes().size());
      channels_ = 3;
    }
  }

  nlohmann::json model_defaults(const std::string& arch) const override {
    QN_CHECK(arch.starts_with("efficientnet"), kOp, "classifies images with an image model (efficientnet_*), not '",
             arch, "'");
    nlohmann::json defaults = {{"num_classes", classes_}, {"in_channels", channels_}};
    if (idx_) defaults["resolution"] = idx_train_images_.size(1);
    return defaults;
  }

  void set_model(const models::BuiltModel& model) override {
    QN_CHECK(model.family == models::ModelFamily::kImage, kOp, "needs an image model");
    model_ = model;
    const auto& config = static_cast<const models::EfficientNet&>(*model.module).config;
    QN_CHECK(config.num_classes == classes_ && config.in_channels == channels_, kOp, "the model classifies ",
             config.num_classes, " classes of ", config.in_channels, "-channel images; the data has ", classes_,
             " classes of ", channels_, "-channel images");
    image_size_ = static_cast<int>(config.resolution);
    train_split_ = make_split("train", true);
    train_batches_ = std::make_unique<TrainingBatches<data::ImageBatch>>(
        [this](int64_t epoch) { return data::fixed_size_batches(train_split_->size(), epoch, train_plan()); },
        [this](const data::IndexBatch& indices, int64_t epoch) { return train_split_->make(indices, epoch); },
        options_.workers);
  }

  void set_data_parallel_rank(int rank, int world_size) override { train_batches_->set_rank(rank, world_size); }
  void begin_epoch(int64_t epoch) override { train_batches_->begin_epoch(epoch); }
  int64_t batches_per_epoch() const override { return train_batches_->batches_per_epoch(); }

  train::MicroBatchLoss train_loss(int64_t index) override {
    const data::ImageBatch batch = train_batches_->batch(index);
    return {model_.loss(batch.images, batch.labels), batch.labels.size(0)};
  }

  train::Metrics evaluate_split(const std::string& split) override {
    const std::unique_ptr<ImageSplit> images = make_split(split, false);
    const int64_t batch_size = options_.eval_batch_size > 0 ? options_.eval_batch_size : 256;
    data::Loader<data::ImageBatch> loader(
        [&](int64_t) { return in_order(images->size(), batch_size); },
        [&](const data::IndexBatch& indices, int64_t epoch) { return images->make(indices, epoch); },
        data::LoaderOptions{options_.workers, 2});
    loader.begin_epoch(0);
    ClassificationMeter meter;
    while (!loader.done()) {
      const data::ImageBatch batch = loader.next();
      meter.add(model_.run(batch.images, batch.labels), batch.labels);
    }
    return meter.metrics();
  }

  std::pair<std::string, bool> best_metric() const override { return {"accuracy", true}; }

 private:
  data::FixedBatchOptions train_plan() const {
    data::FixedBatchOptions o;
    o.batch_size = options_.batch_size > 0 ? options_.batch_size : 32;
    o.seed = options_.seed;
    return o;
  }

  void load_idx() {
    const fs::path dir = options_.data;
    idx_train_images_ = data::read_idx(idx_file(dir, "train-images-idx3-ubyte"));
    idx_train_labels_ = data::read_idx(idx_file(dir, "train-labels-idx1-ubyte")).to(DType::i64);
    check_idx(idx_train_images_, idx_train_labels_, "train");
    // The training set's pixel mean and deviation, in [0, 1] units.
    const Tensor pixels = idx_train_images_.contiguous();
    const uint8_t* p = pixels.data_ptr<uint8_t>();
    double sum = 0, sum_squares = 0;
    for (int64_t i = 0; i < pixels.numel(); ++i) {
      sum += p[i];
      sum_squares += double(p[i]) * p[i];
    }
    const double n = static_cast<double>(pixels.numel()) * 255.0 * 255.0;
    mean_ = static_cast<float>(sum * 255.0 / n);
    stddev_ = static_cast<float>(std::sqrt(std::max(sum_squares / n - double(mean_) * mean_, 1e-12)));
    int64_t max_label = 0;
    const Tensor labels = idx_train_labels_.contiguous();
    for (int64_t i = 0; i < labels.numel(); ++i) {
      QN_CHECK(labels.data_ptr<int64_t>()[i] >= 0 && labels.data_ptr<int64_t>()[i] < 1000, kOp, "label ",
               labels.data_ptr<int64_t>()[i], " of training image ", i, " is outside [0, 1000)");
      max_label = std::max(max_label, labels.data_ptr<int64_t>()[i]);
    }
    classes_ = max_label + 1;
    channels_ = 1;
  }

  void check_idx(const Tensor& images, const Tensor& labels, const std::string& split) const {
    QN_CHECK(images.dim() == 3 && images.dtype() == DType::u8 && labels.dim() == 1 &&
                 labels.size(0) == images.size(0) && images.size(0) > 0,
             kOp, "the ", split, " IDX files of '", options_.data,
             "' are not u8 images (N, H, W) with N labels: ", images.describe(), " and ", labels.describe());
  }

  std::shared_ptr<const data::ImageFolder> open_folder(const std::string& split) const {
    for (const std::string& folder : split_folders(split)) {
      if (is_archive(options_.data)) {
        try {
          return std::make_shared<const data::ImageFolder>(
              data::ImageFolder::from_archive(options_.data, folder + "/"));
        } catch (const Error&) {
          continue;  // no such prefix: try the next one
        }
      }
      const fs::path dir = fs::path(options_.data) / folder;
      if (fs::is_directory(dir)) return std::make_shared<const data::ImageFolder>(data::ImageFolder::from_folder(dir));
    }
    throw_error(kOp, detail::concat("'", options_.data, "' has no ", split, " split (looked for ",
                                    join(split_folders(split), "/, "), "/)"));
  }

  std::unique_ptr<ImageSplit> make_split(const std::string& split, bool train) const {
    if (idx_) {
      if (split == "train") {
        return std::make_unique<IdxSplit>(idx_train_images_, idx_train_labels_, mean_, stddev_);
      }
      QN_CHECK(split == "valid" || split == "test", kOp,
               "IDX data has the splits train and test (valid is test), not '", split, "'");
      const fs::path dir = options_.data;
      Tensor images = data::read_idx(idx_file(dir, "t10k-images-idx3-ubyte"));
      Tensor labels = data::read_idx(idx_file(dir, "t10k-labels-idx1-ubyte")).to(DType::i64);
      check_idx(images, labels, "test");
      QN_CHECK(images.size(1) == idx_train_images_.size(1) && images.size(2) == idx_train_images_.size(2), kOp,
               "the test images of '", options_.data, "' differ in size from the training images");
      return std::make_unique<IdxSplit>(std::move(images), std::move(labels), mean_, stddev_);
    }
    data::ImageTransformOptions transform;
    transform.train = train;
    transform.size = image_size_;
    transform.resize_size = options_.resize_size > 0 ? static_cast<int>(options_.resize_size) : image_size_ * 8 / 7;
    transform.crop.scale_min = options_.min_crop_scale;
    transform.augment.policy = data::parse_augment_policy(options_.augment);
    transform.seed = options_.seed;
    auto folder = split == "train" ? train_folder_ : open_folder(split);
    QN_CHECK(static_cast<int64_t>(folder->classes().size()) == classes_, kOp, "the ", split, " split of '",
             options_.data, "' has ", folder->classes().size(), " classes, the training split ", classes_);
    return std::make_unique<FolderSplit>(std::move(folder), transform);
  }

  TaskOptions options_;
  bool idx_ = false;
  int64_t classes_ = 0, channels_ = 0;
  Tensor idx_train_images_, idx_train_labels_;
  float mean_ = 0, stddev_ = 1;
  std::shared_ptr<const data::ImageFolder> train_folder_;
  models::BuiltModel model_;
  int image_size_ = 224;
  std::unique_ptr<ImageSplit> train_split_;
  std::unique_ptr<TrainingBatches<data::ImageBatch>> train_batches_;
};

}  // namespace

std::unique_ptr<Task> make_image_classification_task(const TaskOptions& options) {
  return std::make_unique<ImageClassificationTask>(options);
}

}  // namespace qn::tasks
