// Images on files made here: tar archives written by GNU tar (ustar, GNU long names, pax), decoding through
// stb_image with grayscale promotion, class folders from a directory and from an archive, corrupt images as
// errors or skipped and counted, and the crop/resize arithmetic of the transforms.
#include "data/image.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/auto_augment.h"
#include "data/image_batches.h"
#include "data/image_folder.h"
#include "data/image_transforms.h"
#include "data/tar_archive.h"
#include "tests/data/data_files.h"
#include "tests/data/image_files.h"
#include "tests/reference.h"

namespace qn::data {
namespace {

using testing::read_text;
using testing::ScratchDir;
using testing::write_jpeg;
using testing::write_png;
namespace fs = std::filesystem;

std::vector<uint8_t> gradient(int width, int height, int channels, int salt) {
  std::vector<uint8_t> pixels(static_cast<size_t>(width * height * channels));
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<uint8_t>((i * 7 + static_cast<size_t>(salt) * 31) % 251);
  return pixels;
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void run(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

// root/{train,test}/<class>/<images>, with a long nested name and a file that is not an image.
struct ImageTree {
  explicit ImageTree(const ScratchDir& dir) : root(dir.path("tree")) {
    const std::string long_dir = "train/dog/" + std::string(90, 'd') + "/" + std::string(40, 'e');
    for (const auto* sub : {"train/cat", "train/dog", "test/cat"}) fs::create_directories(root + "/" + sub);
    fs::create_directories(root + "/" + long_dir);
    write_png(root + "/train/cat/b.png", 5, 4, 3, gradient(5, 4, 3, 1));
    write_png(root + "/train/cat/a.PNG", 3, 2, 1, gradient(3, 2, 1, 2));
    write_png(root + "/train/dog/x.png", 4, 4, 4, gradient(4, 4, 4, 3));
    write_png(root + "/" + long_dir + "/deep.png", 2, 2, 3, gradient(2, 2, 3, 4));
    write_png(root + "/test/cat/t.png", 2, 3, 3, gradient(2, 3, 3, 5));
    std::ofstream(root + "/train/dog/notes.txt") << "not an image";
  }
  std::string root;
};

TEST(TarArchive, ReadsWhatGnuTarWritesInEachFormat) {
  ScratchDir dir("tar");
  ImageTree tree(dir);
  for (const std::string format : {"gnu", "pax", "ustar"}) {
    const std::string archive = dir.path(format + ".tar.gz");
    // ustar cannot hold the 150-character name; it gets the tree without it.
    const std::string exclude = format == "ustar" ? " --exclude=eeee*" : "";
    run("tar --format=" + format + exclude + " -C " + tree.root + " -czf " + archive + " .");
    const TarArchive tar = TarArchive::read(archive);
    std::set<std::string> names;
    for (const auto& member : tar.members()) {
      names.insert(member.name);
      const std::string on_disk = read_text(tree.root + "/" + member.name);
      const auto bytes = tar.bytes(member);
      EXPECT_EQ(std::string(bytes.begin(), bytes.end()), on_disk) << format << " " << member.name;
    }
    EXPECT_EQ(names.count("train/cat/b.png"), 1u) << format;
    EXPECT_EQ(names.size(), format == "ustar" ? 5u : 6u) << format;
  }
}

TEST(TarArchive, DamageIsAnErrorNamingTheFile) {
  ScratchDir dir("tar_bad");
  ImageTree tree(dir);
  const std::string archive = dir.path("plain.tar");
  run("tar -C " + tree.root + " -cf " + archive + " ./train/cat");
  std::string bytes = read_text(archive);

  std::string bad_header = bytes;
  bad_header[20] ^= 0x55;
  const std::string damaged = dir.write("damaged.tar", bad_header);
  EXPECT_QN_ERROR(TarArchive::read(damaged), damaged.c_str(), "bad checksum");

  // Cut inside b.png's data: its header is the block holding its name.
  const size_t header = bytes.find("./train/cat/b.png");
  ASSERT_EQ(header % 512, 0u);
  const std::string truncated = dir.write("truncated.tar", bytes.substr(0, header + 512 + 40));
  EXPECT_QN_ERROR(TarArchive::read(truncated), truncated.c_str(), "member 'train/cat/b.png'");
  EXPECT_QN_ERROR(TarArchive::read(dir.path("missing.tar")), "missing.tar");
  EXPECT_QN_ERROR(TarArchive::read(dir.write("text.tar", std::string(600, 'x'))), "not a tar archive");
}

TEST(DecodeImage, PromotesToRgbAndNamesBadBytes) {
  ScratchDir dir("decode");
  const auto rgb = gradient(5, 4, 3, 7);
  write_png(dir.path("rgb.png"), 5, 4, 3, rgb);
  const Image a = decode_image(as_bytes(read_text(dir.path("rgb.png"))), "rgb.png");
  EXPECT_EQ(a.height, 4);
  EXPECT_EQ(a.width, 5);
  EXPECT_EQ(a.source_channels, 3);
  EXPECT_EQ(a.pixels, rgb);

  const auto gray = gradient(3, 2, 1, 8);
  write_png(dir.path("gray.png"), 3, 2, 1, gray);
  const Image g = decode_image(as_bytes(read_text(dir.path("gray.png"))), "gray.png");
  EXPECT_EQ(g.source_channels, 1);
  for (size_t i = 0; i < gray.size(); ++i) {
    for (size_t c = 0; c < 3; ++c) EXPECT_EQ(g.pixels[3 * i + c], gray[i]);
  }
  const auto rgba = gradient(2, 2, 4, 9);
  write_png(dir.path("rgba.png"), 2, 2, 4, rgba);
  const Image r = decode_image(as_bytes(read_text(dir.path("rgba.png"))), "rgba.png");
  EXPECT_EQ(r.source_channels, 4);
  for (size_t i = 0; i < 4; ++i) {
    for (size_t c = 0; c < 3; ++c) EXPECT_EQ(r.pixels[3 * i + c], rgba[4 * i + c]);
  }

  // A smooth JPEG decodes close to its source.
  std::vector<uint8_t> smooth(32 * 32 * 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c)
        smooth[static_cast<size_t>((y * 32 + x) * 3 + c)] = static_cast<uint8_t>(4 * x + 2 * y + 20 * c);
  write_jpeg(dir.path("smooth.jpg"), 32, 32, 3, smooth, 95);
  const std::string jpeg = read_text(dir.path("smooth.jpg"));
  const Image j = decode_image(as_bytes(jpeg), "smooth.jpg");
  double error = 0.0;
  for (size_t i = 0; i < smooth.size(); ++i) error += std::abs(j.pixels[i] - smooth[i]);
  EXPECT_LT(error / static_cast<double>(smooth.size()), 3.0);

  EXPECT_QN_ERROR(decode_image(as_bytes(jpeg.substr(0, 20)), "cut.jpg"), "'cut.jpg' is not a readable image");
  EXPECT_QN_ERROR(decode_image(as_bytes(std::string(100, '\x42')), "noise.jpg"), "'noise.jpg' is not a readable image");
  EXPECT_QN_ERROR(decode_image({}, "empty.png"), "'empty.png' is empty");
}

TEST(ImageFolder, SameSamplesFromTheDirectoryAndFromTheArchive) {
  ScratchDir dir("folder");
  ImageTree tree(dir);
  const std::string archive = dir.path("tree.tar.gz");
  run("tar -C " + tree.root + " -czf " + archive + " .");
  const ImageFolder on_disk = ImageFolder::from_folder(tree.root + "/train");
  const ImageFolder packed = ImageFolder::from_archive(archive, "train/");
  EXPECT_EQ(on_disk.classes(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(packed.classes(), on_disk.classes());
  ASSERT_EQ(on_disk.size(), 4);  // notes.txt is not an image
  ASSERT_EQ(packed.size(), 4);
  // Sorted by name within a class ("a.PNG" < "b.png"); nested files belong to their top-level class.
  EXPECT_TRUE(on_disk.name(0).ends_with("train/cat/a.PNG"));
  EXPECT_TRUE(packed.name(0).ends_with("tree.tar.gz:train/cat/a.PNG"));
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(on_disk.label(i), packed.label(i));
    EXPECT_EQ(on_disk.decode(i).pixels, packed.decode(i).pixels);
  }
  EXPECT_EQ(on_disk.label(3), 1);
  EXPECT_EQ(ImageFolder::from_archive(archive, "test/").size(), 1);
  EXPECT_QN_ERROR(ImageFolder::from_archive(archive, "valid/"), "no images under 'valid/<class>/'");
  EXPECT_QN_ERROR(ImageFolder::from_folder(dir.path("nowhere")), "is not a directory");
}

TEST(ImageBatchMaker, CorruptImagesAreErrorsOrSkippedAndCounted) {
  ScratchDir dir("corrupt");
  fs::create_directories(dir.path("root/a"));
  for (int i = 0; i < 3; ++i)
    write_png(dir.path("root/a/" + std::to_string(i) + ".png"), 8, 6, 3, gradient(8, 6, 3, i));
  dir.write("root/a/1x.jpg", "\xFF\xD8\xFF\xE0 this is not really a JPEG");
  auto images = std::make_shared<ImageFolder>(ImageFolder::from_folder(dir.path("root")));
  ASSERT_EQ(images->size(), 4);  // 0.png 1.png 1x.jpg 2.png

  ImageTransformOptions options;
  options.size = 4;
  options.resize_size = 5;
  options.train = false;
  const ImageBatchMaker strict(images, options);
  EXPECT_QN_ERROR(strict({0, 1, 2, 3}, 0), "1x.jpg", "is not a readable image");

  options.on_corrupt = CorruptImages::kSkip;
  const ImageBatchMaker lenient(images, options);
  const ImageBatch batch = lenient({3, 2, 0}, 0);
  EXPECT_EQ(batch.images.shape(), Shape({2, 3, 4, 4}));
  EXPECT_EQ(batch.labels.numel(), 2);
  ASSERT_EQ(batch.skipped.size(), 1u);
  EXPECT_TRUE(batch.skipped[0].ends_with("1x.jpg"));
  lenient({2}, 1);
  EXPECT_EQ(lenient.skipped_count(), 2);
  // The kept rows are the images that decoded, in order: sample 3 (2.png) first.
  std::vector<float> expected(3 * 16);
  lenient.transform(3, 0, expected.data());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(batch.images.data_ptr<float>()[i], expected[i]);
}

TEST(ImageTransforms, RandomResizedCropStaysInRangeAndFallsBackToTheCenter) {
  const RandomCropRange range;
  for (int64_t item = 0; item < 2000; ++item) {
    SampleRandom random(4, DrawPurpose::kAugment, 0, item);
    const CropBox box = random_resized_crop_box(180, 240, range, random);
    ASSERT_GE(box.top, 0);
    ASSERT_GE(box.left, 0);
    ASSERT_LE(box.top + box.height, 180);
    ASSERT_LE(box.left + box.width, 240);
    const double area = static_cast<double>(box.height) * box.width / (180.0 * 240.0);
    ASSERT_GE(area, 0.07);  // 0.08 less rounding
    ASSERT_LE(area, 1.0);
    const double ratio = static_cast<double>(box.width) / box.height;
    if (box.height > 20 && box.width > 20) {  // rounding moves small boxes' ratio further
      ASSERT_GE(ratio, 0.75 * 0.9);
      ASSERT_LE(ratio, 4.0 / 3.0 * 1.1);
    }
  }
  // A 2 x 300 strip: no try fits, the central crop of ratio 4/3 is taken (torchvision's fallback).
  SampleRandom random(4, DrawPurpose::kAugment, 0, 0);
  const CropBox fallback = random_resized_crop_box(2, 300, range, random);
  EXPECT_EQ(fallback.height, 2);
  EXPECT_EQ(fallback.width, 3);  // round(2 * 4/3)
  EXPECT_EQ(fallback.left, 148);
  EXPECT_EQ(fallback.top, 0);
}

TEST(ImageTransforms, ResizeCenterCropFollowsTorchvisionSizes) {
  const Resample r = resize_center_crop(224, 300, 256, 224);
  EXPECT_EQ(r.resized_height, 256);
  EXPECT_EQ(r.resized_width, 342);  // int(256 * 300 / 224)
  EXPECT_EQ(r.window.top, 16);
  EXPECT_EQ(r.window.left, 59);
  const Resample tall = resize_center_crop(500, 375, 256, 224);
  EXPECT_EQ(tall.resized_width, 256);
  EXPECT_EQ(tall.resized_height, 341);
  EXPECT_EQ(tall.window.top, 58);  // round(58.5) to even
  EXPECT_QN_ERROR(resize_center_crop(10, 10, 8, 9), "crop 9 is larger than the 8x8 resized image");
}

TEST(ImageTransforms, IdentityFlipAndConstantImages) {
  Image image{3, 4, 3, gradient(4, 3, 3, 11)};
  const Normalization unit{{0.0f, 0.0f, 0.0f}, {1.0f / 255, 1.0f / 255, 1.0f / 255}};  // values stay in 0..255
  std::vector<float> out(3 * 12), flipped(3 * 12);
  resample_normalized(image, {{0, 0, 3, 4}, 3, 4, {0, 0, 3, 4}, false}, unit, out.data());
  resample_normalized(image, {{0, 0, 3, 4}, 3, 4, {0, 0, 3, 4}, true}, unit, flipped.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) {
        const float source = image.pixels[static_cast<size_t>((y * 4 + x) * 3 + c)];
        EXPECT_NEAR(out[static_cast<size_t>((c * 3 + y) * 4 + x)], source, 1e-4);
        EXPECT_NEAR(flipped[static_cast<size_t>((c * 3 + y) * 4 + (3 - x))], source, 1e-4);
      }
  // Any resampling of a constant image is constant, normalized.
  Image flat{50, 70, 3, std::vector<uint8_t>(50 * 70 * 3, 200)};
  std::vector<float> small(3 * 9 * 13);
  const Normalization imagenet;
  resample_normalized(flat, {{3, 5, 41, 60}, 9, 13, {0, 0, 9, 13}, true}, imagenet, small.data());
  for (size_t i = 0; i < small.size(); ++i) {
    const size_t c = i / (9 * 13);
    EXPECT_NEAR(small[i], (200.0f / 255.0f - imagenet.mean[c]) / imagenet.stddev[c], 1e-5);
  }
  EXPECT_QN_ERROR(resample_normalized(flat, {{40, 0, 20, 10}, 5, 5, {0, 0, 5, 5}, false}, imagenet, small.data()),
                  "outside the 50x70 image");
}

TEST(AutoAugment, SimpleOpsByHandAndPolicyNames) {
  Image image{2, 2, 3, {0, 10, 100, 128, 129, 200, 255, 7, 64, 65, 130, 250}};
  Image posterized = image;
  apply_augment_op(posterized, AugmentOp::kPosterize, 4);  // keeps the top four bits
  EXPECT_EQ(posterized.pixels, (std::vector<uint8_t>{0, 0, 96, 128, 128, 192, 240, 0, 64, 64, 128, 240}));
  Image solarized = image;
  apply_augment_op(solarized, AugmentOp::kSolarize, 129.0);  // values >= 129 inverted
  EXPECT_EQ(solarized.pixels, (std::vector<uint8_t>{0, 10, 100, 128, 126, 55, 0, 7, 64, 65, 125, 5}));
  Image twice = image;
  apply_augment_op(twice, AugmentOp::kInvert, 0);
  EXPECT_EQ(twice.pixels[0], 255);
  apply_augment_op(twice, AugmentOp::kInvert, 0);
  EXPECT_EQ(twice.pixels, image.pixels);
  // Brightness 1.5: 1.5 * v truncated and clamped.
  Image bright = image;
  apply_augment_op(bright, AugmentOp::kBrightness, 0.5);
  EXPECT_EQ(bright.pixels, (std::vector<uint8_t>{0, 15, 150, 192, 193, 255, 255, 10, 96, 97, 195, 255}));
  // Translating a 2x2 image by 2 pixels leaves only fill.
  Image moved = image;
  apply_augment_op(moved, AugmentOp::kTranslateX, 2.0);
  EXPECT_EQ(moved.pixels, std::vector<uint8_t>(12, 0));

  EXPECT_EQ(parse_augment_policy("randaugment"), AugmentPolicy::kRandAugment);
  EXPECT_QN_ERROR(parse_augment_policy("trivial"), "unknown augmentation 'trivial'");
  EXPECT_EQ(augment_magnitude(AugmentOp::kPosterize, 9, 31, 224, 224), 7.0);  // 8 - round(9 / 7.5)
  EXPECT_EQ(augment_magnitude(AugmentOp::kSolarize, 0, 10, 224, 224), 255.0);
}

}  // namespace
}  // namespace qn::data
