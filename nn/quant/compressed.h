// The compressed model file: a safetensors file holding exactly what the size report counts —
//   <layer>.codes       u8, the layer's codes packed at ceil(log2 K) bits each, least significant bit first
//   <layer>.centroids   f16 (K, bs); or u8 (K, bs) codes of an 8-bit affine quantization ("iPQ & int8")
//   <parameter>         every other floating parameter: f32, or its N-bit affine codes packed as above (int8,
//                       int4: one scale and zero point per tensor, in the metadata)
//   <buffer>            buffers (BatchNorm statistics) as they are; a PQ layer's counts are rebuilt from its
//                       codes and not stored
// and, under the metadata key "quantnoise_compressed", a JSON block: format version, the PQ layers (name,
// block size, K, number of blocks, weight shape, gradient mode, 8-bit centroid parameters), the scalar-coded
// tensors (name, bits, shape, scale, zero point) and the caller's model description. Loading rebuilds the PQ
// layers in a float model of the same architecture and loads every tensor; the result equals the in-memory
// model after round_to_storage bit for bit. Files are untrusted: every field, size and code is checked.
//
// Scalar codes use PyTorch's observers (scalar.h): the histogram observer for the weights of quantizable layers
// (as Quant-Noise's int8/int4 training does), min-max for everything else.
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

// The storage precisions: centroids at 16 (fp16) or 8 bits, every other floating parameter at 32 (f32), 8 or
// 4 bits. int8 is {16, 8}, int4 {16, 4}, iPQ {16, 32}, "iPQ & int8" {8, 8}.
struct CompressOptions {
  int centroid_bits = 16;
  int other_bits = 32;
};

// Codes (i64, each in [0, 2^bits)) packed LSB first into ceil(n bits / 8) bytes, and back. unpack_codes
// checks every code against n_centroids.
std::vector<uint8_t> pack_codes(const Tensor& codes, int bits);
Tensor unpack_codes(std::span<const uint8_t> packed, int64_t count, int bits, int64_t n_centroids);

// What a compressed file holds, encoded once from a model's current values: the tensors and metadata to write,
// and the values a load of the file gives back. Encode once and use the result for both the in-memory model
// and the file: re-encoding values already rounded may choose other scalar quantization parameters.
struct CompressedModel {
  std::vector<NamedTensor> file_tensors;
  nlohmann::json metadata;
  std::vector<NamedTensor> stored_values;  // model tensor name -> value as stored (centroids, scalar-coded)
};

CompressedModel encode_compressed(const Module& model, const CompressOptions& options,
                                  const nlohmann::json& model_info = nullptr);

// Sets the model's tensors to what the file stores, so that the model in memory is the one a load gives.
void round_to_storage(Module& model, const CompressedModel& encoded);
// Writes the encoded model atomically.
void save_compressed(const std::string& path, const CompressedModel& encoded);

// Shorthands that encode first. Calling both on one model is exact only with f32 other parameters (fp16 rounding
// is idempotent, scalar codes are not): otherwise encode once and use the two functions above.
void round_to_storage(Module& model, const CompressOptions& options);
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
