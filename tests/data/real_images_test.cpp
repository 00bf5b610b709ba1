// The image data sets of ../shared/data (label `data`): CIFAR-10 read from its tarball and the Imagenette
// subset from class folders reproduce the README's counts, grayscale images and channel means; the fused
// transforms equal torchvision's on real images; stb_image's JPEG decoding agrees with PIL's; and loaders give
// the same augmented batches with 1 and 4 workers and after a resume.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/auto_augment.h"
#include "data/image_batches.h"
#include "data/image_folder.h"
#include "data/loader.h"
#include "tests/data/data_files.h"

namespace qn::data {
namespace {

using testing::ScratchDir;

std::vector<int64_t> per_class(const ImageFolder& images) {
  std::vector<int64_t> counts(images.classes().size(), 0);
  for (int64_t i = 0; i < images.size(); ++i) ++counts.at(static_cast<size_t>(images.label(i)));
  return counts;
}

TEST(Cifar10, FiftyThousandAndTenThousandJpegsWithTheKnownMeans) {
  REQUIRE_SHARED_DATA("cifar10-jpeg");
  const std::string archive = (data_dir / "cifar10-jpeg.tar.gz").string();
  const ImageFolder train = ImageFolder::from_archive(archive, "train/");
  const ImageFolder test = ImageFolder::from_archive(archive, "test/");
  const std::vector<std::string> classes = {"airplane", "automobile", "bird",  "cat",  "deer",
                                            "dog",      "frog",       "horse", "ship", "truck"};
  EXPECT_EQ(train.classes(), classes);
  EXPECT_EQ(test.classes(), classes);
  EXPECT_EQ(train.size(), 50000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(per_class(train), std::vector<int64_t>(10, 5000));
  EXPECT_EQ(per_class(test), std::vector<int64_t>(10, 1000));
  // Every image decodes to 32x32 RGB; the per-channel means of the training set are the README's.
  std::array<double, 3> sum{};
  for (int64_t i = 0; i < train.size(); ++i) {
    const Image image = train.decode(i);
    ASSERT_EQ(image.height, 32);
    ASSERT_EQ(image.width, 32);
    ASSERT_EQ(image.source_channels, 3);
    for (size_t p = 0; p < image.pixels.size(); ++p) sum[p % 3] += image.pixels[p];
  }
  const std::array<double, 3> readme = {0.4913, 0.4821, 0.4465};
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(sum[c] / (50000.0 * 1024.0 * 255.0), readme[c], 1e-3) << "channel " << c;
}

TEST(Imagenette, ValidationCountsAndGrayscaleImages) {
  REQUIRE_SHARED_DATA("imagenette-224");
  const auto val = std::make_shared<ImageFolder>(ImageFolder::from_folder((data_dir / "val").string()));
  const auto train = std::make_shared<ImageFolder>(ImageFolder::from_folder((data_dir / "train").string()));
  EXPECT_EQ(val->size(), 3925);
  EXPECT_EQ(train->size(), 3500);
  EXPECT_EQ(per_class(*val), (std::vector<int64_t>{387, 395, 357, 386, 409, 394, 389, 419, 399, 390}));
  EXPECT_EQ(per_class(*train), std::vector<int64_t>(10, 350));
  EXPECT_EQ(val->classes().front(), "n01440764");
  EXPECT_EQ(val->classes().back(), "n03888257");

  // Decode all 7,425 on two workers; count the images stored with one channel.
  auto count_grayscale = [](std::shared_ptr<ImageFolder> images) {
    auto plan = [n = images->size()](int64_t) {
      FixedBatchOptions options;
      options.batch_size = 64;
      options.shuffle = false;
      return fixed_size_batches(n, 0, options);
    };
    auto make = [images](const IndexBatch& indices, int64_t) {
      int64_t gray = 0;
      for (const int64_t i : indices) {
        const Image image = images->decode(i);
        EXPECT_EQ(image.height, 224);
        EXPECT_EQ(image.width, 224);
        gray += image.source_channels == 1;
      }
      return gray;
    };
    Loader<int64_t> loader(plan, make, {2, 2});
    loader.begin_epoch(0);
    int64_t gray = 0;
    while (!loader.done()) gray += loader.next();
    return gray;
  };
  const int64_t val_gray = count_grayscale(val), train_gray = count_grayscale(train);
  std::cout << "grayscale images: val " << val_gray << ", train subset " << train_gray << "\n";
  EXPECT_EQ(val_gray + train_gray, 142);  // README: 7,283 RGB and 142 grayscale over both folders
}

// Writes our decoded pixels (one after another, u8 HWC) and the cases to dir, and runs
// tests/data/<script> CASES.json PIXELS.bin OUT.bin [extra]; its output is dir/out.bin.
void run_torchvision_script(const std::string& script, const std::vector<Image>& images, const nlohmann::json& cases,
                            const ScratchDir& dir, const std::string& extra = "") {
  std::ofstream pixels(dir.path("pixels.bin"), std::ios::binary);
  for (const Image& image : images)
    pixels.write(reinterpret_cast<const char*>(image.pixels.data()), static_cast<std::streamsize>(image.pixels.size()));
  pixels.close();
  std::ofstream(dir.path("cases.json")) << cases.dump();
  const std::string command = "/usr/bin/python3 " QN_SOURCE_DIR "/tests/data/" + script + " " + dir.path("cases.json") +
                              " " + dir.path("pixels.bin") + " " + dir.path("out.bin") + " " + extra;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// tests/data/torchvision_transforms.py's outputs on our decoded pixels.
std::vector<float> torchvision_outputs(const std::vector<Image>& images, const nlohmann::json& cases,
                                       const ScratchDir& dir) {
  run_torchvision_script("torchvision_transforms.py", images, cases, dir);
  std::ifstream in(dir.path("out.bin"), std::ios::binary | std::ios::ate);
  std::vector<float> out(static_cast<size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
  return out;
}

TEST(Imagenette, TransformsMatchTorchvision) {
  REQUIRE_SHARED_DATA("imagenette-224");
  ScratchDir dir("torchvision");
  const auto val = std::make_shared<ImageFolder>(ImageFolder::from_folder((data_dir / "val").string()));
  // Training crops (random boxes from the engine's draws, including small ones that are shrunk and large ones
  // that are enlarged), and the evaluation transform at two resolutions, on 24 images across the classes.
  std::vector<Image> images;
  nlohmann::json cases = nlohmann::json::array();
  std::vector<float> ours;
  int64_t offset = 0;
  for (int k = 0; k < 24; ++k) {
    const int64_t index = k * 163;
    Image image = val->decode(index);
    nlohmann::json c = {{"offset", offset}, {"height", image.height}, {"width", image.width}};
    ImageTransformOptions options;
    options.seed = 77;
    options.train = k % 3 != 0;
    options.size = k % 2 ? 224 : 160;
    options.resize_size = options.size * 8 / 7;
    const int64_t samples = int64_t{3} * options.size * options.size;
    std::vector<float> out(static_cast<size_t>(samples));
    ImageBatchMaker(val, options).transform(index, /*epoch=*/k, out.data());
    ours.insert(ours.end(), out.begin(), out.end());
    if (options.train) {
      SampleRandom random(options.seed, DrawPurpose::kAugment, k, index);  // the draws transform() made
      const CropBox box = random_resized_crop_box(image.height, image.width, options.crop, random);
      c.update({{"kind", "train"},
                {"top", box.top},
                {"left", box.left},
                {"crop_height", box.height},
                {"crop_width", box.width},
                {"size", options.size},
                {"flip", random.bernoulli(0.5)}});
    } else {
      c.update({{"kind", "eval"}, {"resize", options.resize_size}, {"size", options.size}});
    }
    cases.push_back(c);
    offset += static_cast<int64_t>(image.pixels.size());
    images.push_back(std::move(image));
  }
  const std::vector<float> reference = torchvision_outputs(images, cases, dir);
  ASSERT_EQ(reference.size(), ours.size());
  double worst = 0.0;
  for (size_t i = 0; i < ours.size(); ++i) worst = std::max(worst, std::abs(double{ours[i]} - reference[i]));
  std::cout << "largest difference from torchvision: " << worst << "\n";
  // One pixel level is 1 / (255 * 0.225) = 0.017 after normalization; only float32 rounding may differ.
  EXPECT_LT(worst, 1e-5) << "largest difference from torchvision";
}

TEST(Imagenette, StbImageDecodesJpegsAsPilDoes) {
  REQUIRE_SHARED_DATA("imagenette-224");
  ScratchDir dir("pil");
  const ImageFolder val = ImageFolder::from_folder((data_dir / "val").string());
  std::string files;
  std::vector<Image> images;
  for (int64_t index = 5; index < val.size(); index += 397) {
    files += " " + val.name(index);
    images.push_back(val.decode(index));
  }
  const std::string command =
      "/usr/bin/python3 -c \"import sys, numpy as np; from PIL import Image; "
      "np.concatenate([np.asarray(Image.open(f).convert('RGB')).ravel() for f in "
      "sys.argv[2:]]).tofile(sys.argv[1])\" " +
      dir.path("pil.bin") + files;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string pil = testing::read_text(dir.path("pil.bin"));
  size_t at = 0;
  for (const Image& image : images) {
    ASSERT_LE(at + image.pixels.size(), pil.size());
    double total = 0.0;
    int worst = 0;
    for (size_t i = 0; i < image.pixels.size(); ++i) {
      const int d = std::abs(int{image.pixels[i]} - int{static_cast<uint8_t>(pil[at + i])});
      total += d;
      worst = std::max(worst, d);
    }
    at += image.pixels.size();
    // The two libraries' IDCTs and chroma upsampling differ by rounding, nowhere by a visible amount.
    EXPECT_LT(total / static_cast<double>(image.pixels.size()), 1.0);
    EXPECT_LE(worst, 40);
  }
  EXPECT_EQ(at, pil.size());
}

TEST(Imagenette, AugmentedBatchesAreTheSameWithOneAndFourWorkersAndAfterResume) {
  REQUIRE_SHARED_DATA("imagenette-224");
  const auto train = std::make_shared<ImageFolder>(ImageFolder::from_folder((data_dir / "train").string()));
  ImageTransformOptions transform;
  transform.seed = 5;
  const ImageBatchMaker maker(train, transform);
  auto plan = [n = train->size()](int64_t epoch) {
    FixedBatchOptions options;
    options.batch_size = 12;
    options.seed = 5;
    return fixed_size_batches(n, epoch, options);
  };
  Loader<ImageBatch> one(plan, maker, {1, 2}), four(plan, maker, {4, 2});
  one.begin_epoch(2);
  four.begin_epoch(2);
  std::vector<ImageBatch> first;
  for (int k = 0; k < 6; ++k) {
    const ImageBatch a = one.next(), b = four.next();
    ASSERT_EQ(a.images.shape(), Shape({12, 3, 224, 224}));
    ASSERT_EQ(std::memcmp(a.images.data_ptr<float>(), b.images.data_ptr<float>(), a.images.numel() * sizeof(float)), 0)
        << "batch " << k;
    for (int64_t i = 0; i < 12; ++i) ASSERT_EQ(a.labels.data_ptr<int64_t>()[i], b.labels.data_ptr<int64_t>()[i]);
    first.push_back(a);
  }
  // A new loader resumed at (epoch 2, batch 4) continues with batch 4.
  Loader<ImageBatch> resumed(plan, maker, {3, 2});
  resumed.seek({2, 4});
  const ImageBatch again = resumed.next();
  EXPECT_EQ(std::memcmp(again.images.data_ptr<float>(), first[4].images.data_ptr<float>(),
                        again.images.numel() * sizeof(float)),
            0);
  // Another epoch is another order with other crops.
  resumed.begin_epoch(3);
  const ImageBatch other = resumed.next();
  EXPECT_NE(std::memcmp(other.images.data_ptr<float>(), first[0].images.data_ptr<float>(),
                        other.images.numel() * sizeof(float)),
            0);
}

// Each AutoAugment / RandAugment op against torchvision's _apply_op on real 224x224 images, at several signed
// magnitudes, value for value (the geometric ops too: the sampling grid is computed as torch computes it); and
// the magnitude tables against torchvision's.
TEST(Imagenette, AugmentOpsMatchTorchvision) {
  REQUIRE_SHARED_DATA("imagenette-224");
  ScratchDir dir("augment");
  const ImageFolder val = ImageFolder::from_folder((data_dir / "val").string());
  struct Case {
    AugmentOp op;
    double magnitude;
  };
  // ShearY 0.21, not 0.2: at 0.2 about a fifth of the source rows fall within an f32 rounding of a pixel boundary,
  // and torchvision's nearest sample there came out differently on an Intel Xeon (1028 values) than on the AMD
  // machine this test was written on, while ours did not change; a parity test cannot pin torch's side of a tie.
  const std::vector<Case> ops = {{AugmentOp::kShearX, 0.3},      {AugmentOp::kShearX, -0.17},
                                 {AugmentOp::kShearY, 0.21},     {AugmentOp::kShearY, -0.3},
                                 {AugmentOp::kTranslateX, 67.7}, {AugmentOp::kTranslateX, -45.1},
                                 {AugmentOp::kTranslateY, 30.0}, {AugmentOp::kTranslateY, -101.5},
                                 {AugmentOp::kRotate, 30.0},     {AugmentOp::kRotate, -13.3},
                                 {AugmentOp::kBrightness, 0.9},  {AugmentOp::kBrightness, -0.6},
                                 {AugmentOp::kColor, 0.5},       {AugmentOp::kColor, -0.9},
                                 {AugmentOp::kContrast, 0.9},    {AugmentOp::kContrast, -0.4},
                                 {AugmentOp::kSharpness, 0.9},   {AugmentOp::kSharpness, -0.7},
                                 {AugmentOp::kPosterize, 4},     {AugmentOp::kPosterize, 7},
                                 {AugmentOp::kSolarize, 170.0},  {AugmentOp::kSolarize, 113.33333587646484},
                                 {AugmentOp::kAutoContrast, 0},  {AugmentOp::kEqualize, 0},
                                 {AugmentOp::kInvert, 0},        {AugmentOp::kIdentity, 0}};
  std::vector<Image> inputs;
  std::vector<uint8_t> ours;
  nlohmann::json cases = nlohmann::json::array();
  int64_t offset = 0;
  for (size_t k = 0; k < ops.size(); ++k) {
    Image image = val.decode(static_cast<int64_t>(k) * 149 + 3);
    cases.push_back({{"offset", offset},
                     {"height", image.height},
                     {"width", image.width},
                     {"op", augment_op_name(ops[k].op)},
                     {"magnitude", ops[k].magnitude}});
    offset += static_cast<int64_t>(image.pixels.size());
    Image augmented = image;
    apply_augment_op(augmented, ops[k].op, ops[k].magnitude);
    ours.insert(ours.end(), augmented.pixels.begin(), augmented.pixels.end());
    inputs.push_back(std::move(image));
  }
  run_torchvision_script("torchvision_augment.py", inputs, cases, dir, dir.path("magnitudes.json"));
  const std::string theirs = testing::read_text(dir.path("out.bin"));
  ASSERT_EQ(theirs.size(), ours.size());
  size_t at = 0;
  for (size_t k = 0; k < ops.size(); ++k) {
    const size_t n = inputs[k].pixels.size();
    int64_t differing = 0;
    for (size_t i = 0; i < n; ++i) differing += ours[at + i] != static_cast<uint8_t>(theirs[at + i]);
    at += n;
    EXPECT_EQ(differing, 0) << augment_op_name(ops[k].op) << " " << ops[k].magnitude << ": " << differing << " of " << n
                            << " values differ";
  }
  // Magnitude tables.
  const nlohmann::json tables = nlohmann::json::parse(testing::read_text(dir.path("magnitudes.json")));
  for (const auto& [policy, bins] : {std::pair<std::string, int>{"autoaugment", 10}, {"randaugment", 31}}) {
    for (int o = 1; o <= 14; ++o) {
      const auto op = static_cast<AugmentOp>(o);
      if (!tables[policy].contains(augment_op_name(op))) continue;
      const auto& values = tables[policy][augment_op_name(op)];
      ASSERT_EQ(values.size(), static_cast<size_t>(bins));
      for (int b = 0; b < bins; ++b)
        EXPECT_NEAR(augment_magnitude(op, b, bins, 224, 224), values[static_cast<size_t>(b)].get<double>(),
                    1e-6 * (1.0 + std::abs(values[static_cast<size_t>(b)].get<double>())))
            << policy << " " << augment_op_name(op) << " bin " << b;
    }
  }
}

// With AutoAugment or RandAugment on, batches are still the same with 1 and 4 workers.
TEST(Imagenette, AugmentedPoliciesAreDeterministic) {
  REQUIRE_SHARED_DATA("imagenette-224");
  const auto train = std::make_shared<ImageFolder>(ImageFolder::from_folder((data_dir / "train").string()));
  for (const AugmentPolicy policy : {AugmentPolicy::kAutoAugmentImageNet, AugmentPolicy::kRandAugment}) {
    ImageTransformOptions transform;
    transform.augment.policy = policy;
    const ImageBatchMaker maker(train, transform);
    auto plan = [n = train->size()](int64_t epoch) {
      FixedBatchOptions options;
      options.batch_size = 16;
      return fixed_size_batches(n, epoch, options);
    };
    Loader<ImageBatch> one(plan, maker, {1, 2}), four(plan, maker, {4, 2});
    one.begin_epoch(0);
    four.begin_epoch(0);
    for (int k = 0; k < 3; ++k) {
      const ImageBatch a = one.next(), b = four.next();
      ASSERT_EQ(std::memcmp(a.images.data_ptr<float>(), b.images.data_ptr<float>(), a.images.numel() * sizeof(float)),
                0);
    }
  }
}

}  // namespace
}  // namespace qn::data
