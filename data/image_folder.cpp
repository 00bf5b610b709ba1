#include "data/image_folder.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"

namespace qn::data {

namespace fs = std::filesystem;

bool has_image_extension(const std::string& filename) {
  static constexpr std::array<std::string_view, 6> kExtensions = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm"};
  std::string lower = fs::path(filename).extension().string();
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kExtensions.begin(), kExtensions.end(), lower) != kExtensions.end();
}

ImageFolder ImageFolder::from_folder(const std::string& root) {
  constexpr const char* kOp = "ImageFolder";
  std::error_code error;
  QN_CHECK(fs::is_directory(root, error), kOp, "'", root, "' is not a directory");
  ImageFolder folder;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) folder.classes_.push_back(entry.path().filename().string());
  }
  std::sort(folder.classes_.begin(), folder.classes_.end());
  for (size_t label = 0; label < folder.classes_.size(); ++label) {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(root) / folder.classes_[label])) {
      if (entry.is_regular_file() && has_image_extension(entry.path().filename().string()))
        files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    for (auto& file : files) folder.samples_.push_back({std::move(file), static_cast<int64_t>(label), -1});
  }
  QN_CHECK(!folder.samples_.empty(), kOp, "'", root, "' has no images in class folders (<root>/<class>/<image>)");
  return folder;
}

ImageFolder ImageFolder::from_archive(const std::string& archive_path, const std::string& prefix) {
  constexpr const char* kOp = "ImageFolder";
  // <prefix><class>/<...>/<file>: a class directory and an image name below it.
  auto class_of = [&](std::string_view name) -> std::string_view {
    if (!name.starts_with(prefix)) return {};
    const std::string_view rest = name.substr(prefix.size());
    const size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos || slash + 1 == rest.size()) return {};
    return has_image_extension(std::string(rest.substr(rest.rfind('/') + 1))) ? rest.substr(0, slash)
                                                                              : std::string_view{};
  };
  auto archive = std::make_shared<TarArchive>(
      TarArchive::read(archive_path, [&](std::string_view name) { return !class_of(name).empty(); }));
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> by_class;  // sorted by class, then name
  for (size_t m = 0; m < archive->members().size(); ++m) {
    const std::string& name = archive->members()[m].name;
    by_class[std::string(class_of(name))].emplace_back(name, static_cast<int64_t>(m));
  }
  QN_CHECK(!by_class.empty(), kOp, "'", archive_path, "' has no images under '", prefix, "<class>/'");
  ImageFolder folder;
  folder.archive_path_ = archive_path;
  for (auto& [class_name, members] : by_class) {
    std::sort(members.begin(), members.end());
    const auto label = static_cast<int64_t>(folder.classes_.size());
    folder.classes_.push_back(class_name);
    for (auto& [name, member] : members) folder.samples_.push_back({std::move(name), label, member});
  }
  folder.archive_ = std::move(archive);
  return folder;
}

std::string ImageFolder::name(int64_t index) const {
  const Sample& sample = samples_.at(static_cast<size_t>(index));
  return archive_ ? archive_path_ + ":" + sample.path : sample.path;
}

std::vector<uint8_t> ImageFolder::encoded(int64_t index) const {
  const Sample& sample = samples_.at(static_cast<size_t>(index));
  if (archive_) {
    const auto bytes = archive_->bytes(archive_->members()[static_cast<size_t>(sample.member)]);
    return {bytes.begin(), bytes.end()};
  }
  std::ifstream in(sample.path, std::ios::binary | std::ios::ate);
  QN_CHECK(in, "ImageFolder", "cannot open '", sample.path, "'");
  const auto size = static_cast<size_t>(in.tellg());
  std::vector<uint8_t> bytes(size);
  in.seekg(0);
  QN_CHECK(in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)), "ImageFolder",
           "cannot read '", sample.path, "'");
  return bytes;
}

Image ImageFolder::decode(int64_t index) const {
  const Sample& sample = samples_.at(static_cast<size_t>(index));
  if (archive_)
    return decode_image(archive_->bytes(archive_->members()[static_cast<size_t>(sample.member)]), name(index));
  return decode_image(encoded(index), sample.path);
}

}  // namespace qn::data
