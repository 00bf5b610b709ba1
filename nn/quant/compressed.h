// The compressed model file: a safetensors file holding exactly what the size report counts —
//   <layer>.codes       u8, the layer's codes packed at ceil(log2 K) bits each, least significant bit first
//   <layer>.centroids   f16 (K, bs)
//   <parameter>         every other parameter, f32
//   <buffer>            buffers (BatchNorm statistics) as they are; a PQ layer's counts are rebuilt from its
//                       codes and not stored
// and, under the metadata key "quantnoise_compressed", a JSON block: format version, the PQ layers (name,
// block size, K, number of blocks, weight shape, gradient mode) and the caller's model description. Loading rebuilds
// the PQ layers in a float model of the same architecture and loads every tensor; the result equals the in-memory model
// after round_to_storage bit for bit. Files are untrusted: every field, size and code is checked.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/quant/size_report.h"
#include "nn/quantizable.h"

namespace qn::nn::quant {

inline constexpr int kCompressedFormatVersion = 1;
inline constexpr const char* kCompressedMetadataKey = "quantnoise_compressed";

// The storage precisions. Only fp16 centroids and f32 others are written so far; the size report also
// counts the paper's "iPQ & int8" (8-bit centroids and others).
struct CompressOptions {
  int centroid_bits = 16;
  int other_bits = 32;
};

// Codes (i64, each in [0, 2^bits)) packed LSB first into ceil(n bits / 8) bytes, and back. unpack_codes
// checks every code against n_centroids.
std::vector<uint8_t> pack_codes(const Tensor& codes, int bits);
Tensor unpack_codes(std::span<const uint8_t> packed, int64_t count, int bits, int64_t n_centroids);

// Rounds the model's centroids to what the file stores (fp16), so that the model in memory is the one a
// load of the file gives.
void round_to_storage(Module& model, const CompressOptions& options);

// Writes model (its PQ layers compressed) atomically. model_info is stored for the reader (e.g. the model's
// name and config). Call round_to_storage first for a bit-exact round trip.
void save_compressed(const std::string& path, const Module& model, const CompressOptions& options,
                     const nlohmann::json& model_info = nullptr);

struct CompressedInfo {
  CompressOptions options;
  nlohmann::json model_info;
  int64_t pq_layers = 0;
};

// The size report of a compressed file (from its metadata and tensors; no model needed), or of any other
// safetensors file: its floating tensors counted as fp32 parameters (a checkpoint's optimizer state and
// BatchNorm statistics left out).
SizeReport file_size_report(const std::string& path);

// Makes the named layers of model (a float model of the same architecture) product-quantized and loads
// every tensor. Throws qn::Error naming the file and what does not fit.
CompressedInfo load_compressed(const std::string& path, Module& model);

}  // namespace qn::nn::quant
