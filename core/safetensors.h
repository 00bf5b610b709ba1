// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
// N bytes of UTF-8 JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian tensor bytes. Files are untrusted: every field is validated and every size
// bounded before anything is allocated or read.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace qn {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

struct SafetensorsContent {
  std::vector<NamedTensor> tensors;  // in file (data offset) order
  std::map<std::string, std::string> metadata;

  // The tensor called name; throws qn::Error listing what the file holds when it is absent.
  const Tensor& at(const std::string& name) const;
};

// Largest header accepted (the reference implementation's limit).
inline constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

SafetensorsContent load_safetensors(const std::string& path);
SafetensorsContent parse_safetensors(std::span<const uint8_t> bytes);  // the whole file in memory
// The __metadata__ of a file, from its header alone (validated as load_safetensors does; no tensor is read).
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path);

// Writes atomically. Names must be unique and non-empty; tensors may have any layout and device.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
std::vector<uint8_t> serialize_safetensors(const std::vector<NamedTensor>& tensors,
                                           const std::map<std::string, std::string>& metadata = {});

}  // namespace qn
