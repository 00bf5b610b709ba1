// Labelled images in ImageNet's layout, <root>/<class>/<file>, as torchvision's ImageFolder reads it: class
// folders sorted by name give labels 0, 1, ...; files with an image extension (.jpg .jpeg .png .bmp .ppm
// .pgm, any case) sorted by name within each class. The images stay encoded until a loader decodes them.
// Two sources:
//   from_folder   a directory tree; each image is read from disk when asked for
//   from_archive  a tar or tar.gz holding the same tree under a prefix (e.g. "train/"), kept in memory
//                 (CIFAR-10's 50,000 JPEGs are 45 MB this way, against 200 MB of disk blocks unpacked)
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/tar_archive.h"

namespace qn::data {

class ImageFolder {
 public:
  static ImageFolder from_folder(const std::string& root);
  static ImageFolder from_archive(const std::string& archive_path, const std::string& prefix);

  int64_t size() const { return static_cast<int64_t>(samples_.size()); }
  const std::vector<std::string>& classes() const { return classes_; }
  int64_t label(int64_t index) const { return samples_.at(static_cast<size_t>(index)).label; }
  // The file's path, or "<archive>:<member>".
  std::string name(int64_t index) const;
  // The encoded bytes of one image (read from disk for from_folder).
  std::vector<uint8_t> encoded(int64_t index) const;
  Image decode(int64_t index) const;

 private:
  struct Sample {
    std::string path;  // from_folder: file path; from_archive: member name
    int64_t label = 0;
    int64_t member = -1;  // from_archive: index into archive_->members()
  };
  std::vector<std::string> classes_;
  std::vector<Sample> samples_;
  std::string archive_path_;
  std::shared_ptr<const TarArchive> archive_;  // shared by copies of the dataset
};

// torchvision's rule for which files are images (case-insensitive extension).
bool has_image_extension(const std::string& filename);

}  // namespace qn::data
