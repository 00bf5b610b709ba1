// Size accounting (docs/METHOD.md, size accounting) and the compressed model file (codes packed at ceil(log2 K)
// bits, fp16 centroids): its size on disk against the report and a bit-exact round trip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "autograd/ops.h"
#include "nn/container.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/quant/compressed.h"
#include "nn/quant/size_report.h"
#include "tests/reference.h"

namespace qn::nn::quant {
namespace {

namespace fs = std::filesystem;
using testing::at;

SizeOptions other_bits(int bits) {
  SizeOptions o;
  o.other_bits = bits;
  return o;
}

SizeOptions planned(const std::string& name, PqShape shape) {
  SizeOptions o;
  o.planned[name] = shape;
  return o;
}

// Oracle 26: Linear(1024 -> 4096) with bias, bs 8, K 256.
TEST(SizeReport, SingleLinearLayer) {
  Linear layer(LinearOptions(1024, 4096));
  const SizeReport from_plan = size_report(layer, planned("", {8, 256}));
  layer.make_product_quantized(8, 256);
  const SizeReport quantized = size_report(layer);
  for (const SizeReport* r : {&from_plan, &quantized}) {
    EXPECT_EQ(r->code_bytes, 524288.0);
    EXPECT_EQ(r->centroid_bytes, 4096.0);
    EXPECT_EQ(r->other_bytes, 16384.0);
    EXPECT_EQ(r->total_bytes(), 544768.0);
    EXPECT_EQ(r->total_bytes() / kMiB, 0.51953125);
    EXPECT_EQ(r->float_bytes, 16793600.0);
    EXPECT_EQ(r->float_bytes / kMiB, 16.015625);
    EXPECT_NEAR(r->ratio(), 30.827, 5e-4);
  }
}

TEST(SizeReport, ScalarSchemesCountEveryParameter) {
  Sequential model;
  model.push_back(std::make_shared<Linear>(LinearOptions(100, 50)));
  model.push_back(std::make_shared<LayerNorm>(LayerNormOptions({50})));
  const double params = 100 * 50 + 50 + 2 * 50;
  EXPECT_EQ(size_report(model).total_bytes(), 4 * params);
  EXPECT_EQ(size_report(model, other_bits(8)).total_bytes(), params);
  EXPECT_EQ(size_report(model, other_bits(4)).total_bytes(), params / 2);
  EXPECT_EQ(size_report(model, other_bits(8)).ratio(), 4.0);
  EXPECT_QN_ERROR(size_report(model, other_bits(7)), "other_bits");
  EXPECT_QN_ERROR(size_report(model, planned("9", {4, 16})), "'9'");
}

// A tensor registered by two modules (tied input and output embeddings) counts once.
struct Owner : Module {
  explicit Owner(const Tensor& shared) : Module("Owner") { register_parameter("weight", shared); }
};

TEST(SizeReport, TiedWeightsCountOnce) {
  const Tensor shared = zeros({20, 8});
  Sequential model;
  model.push_back(std::make_shared<Owner>(shared));
  model.push_back(std::make_shared<Owner>(shared));
  model.push_back(std::make_shared<Owner>(zeros({3})));
  EXPECT_EQ(size_report(model).parameters, 163);
  EXPECT_EQ(size_report(model).float_bytes, 4.0 * 163);
}

TEST(SizeReport, CodeBitsRoundUp) {
  EXPECT_EQ(code_bits(256), 8);
  EXPECT_EQ(code_bits(257), 9);
  EXPECT_EQ(code_bits(1000), 10);
  EXPECT_EQ(code_bits(2), 1);
  EXPECT_EQ(code_bits(1), 1);
}

TEST(CompressedFile, CodesPackAndUnpackAtEveryWidth) {
  Generator gen(40);
  for (int bits = 1; bits <= 12; ++bits) {
    const int64_t k = int64_t{1} << bits;
    const Tensor codes = randint(0, k, {37}, DType::i64, &gen);
    const std::vector<uint8_t> packed = pack_codes(codes, bits);
    EXPECT_EQ(static_cast<int64_t>(packed.size()), (37 * bits + 7) / 8);
    const Tensor back = unpack_codes(packed, 37, bits, k);
    for (int64_t i = 0; i < 37; ++i) ASSERT_EQ(at(back, {i}), at(codes, {i})) << bits << " bits";
  }
  // Code 5 at 3 bits with K = 5 names no centroid; a short buffer is refused.
  const std::vector<uint8_t> five = pack_codes(from_vector<int64_t>({1, 5}), 3);
  EXPECT_QN_ERROR(unpack_codes(five, 2, 3, 5), "names no centroid");
  EXPECT_QN_ERROR(unpack_codes(five, 3, 3, 8), "take 2 bytes");
  EXPECT_QN_ERROR(pack_codes(from_vector<int64_t>({8}), 3), "does not fit");
}

struct Net : Module {
  Net() : Module("Net") {
    table = register_module("table", std::make_shared<Embedding>(EmbeddingOptions(64, 32)));
    fc = register_module("fc", std::make_shared<Linear>(LinearOptions(32, 512)));
    norm = register_module("norm", std::make_shared<LayerNorm>(LayerNormOptions({512})));
    out = register_module("out", std::make_shared<Linear>(LinearOptions(512, 16)));
  }
  Tensor run(const Tensor& ids) { return (*out)((*norm)((*fc)((*table)(ids)))); }
  std::shared_ptr<Embedding> table;
  std::shared_ptr<Linear> fc;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> out;
};

PqOptions options(int64_t bs, int64_t k, Generator* gen) {
  PqOptions o;
  o.block_size = bs;
  o.kmeans.n_centroids = k;
  o.kmeans.n_iter = 4;
  o.kmeans.generator = gen;
  return o;
}

TEST(CompressedFile, RoundTripIsBitExactAndAsSmallAsTheReport) {
  Generator gen(41);
  manual_seed(41);
  Net net;
  net.table->quantize(options(8, 100, &gen));  // K = 100: 7-bit codes
  net.fc->quantize(options(8, 256, &gen));
  net.out->quantize(options(4, 64, &gen));
  round_to_storage(net, CompressOptions{});
  const fs::path path = fs::temp_directory_path() / ("qn_compressed_" + std::to_string(getpid()) + ".safetensors");
  save_compressed(path.string(), net, CompressOptions{}, {{"name", "net"}});

  const SizeReport report = size_report(net);
  EXPECT_EQ(report.code_bytes, std::ceil(64.0 * 32 / 8 * 7 / 8) + 32.0 * 512 / 8 + 512.0 * 16 / 4 * 6 / 8);
  // Past the header (8-byte length + JSON) the file holds exactly the bytes the report counts.
  uint64_t header = 0;
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(&header), 8);
  const auto on_disk = static_cast<double>(fs::file_size(path));
  EXPECT_EQ(on_disk - 8 - static_cast<double>(header), report.total_bytes());
  EXPECT_LE(on_disk, report.total_bytes() * 1.01 + 64 * 1024);
  // The file alone gives the same report (qn size).
  const SizeReport from_file = file_size_report(path.string());
  EXPECT_EQ(from_file.total_bytes(), report.total_bytes());
  EXPECT_EQ(from_file.float_bytes, report.float_bytes);
  EXPECT_EQ(from_file.layers.size(), report.layers.size());

  manual_seed(99);  // a float model with other weights: everything must come from the file
  Net loaded;
  const CompressedInfo info = load_compressed(path.string(), loaded);
  EXPECT_EQ(info.pq_layers, 3);
  EXPECT_EQ(info.model_info.at("name"), "net");
  const Tensor ids = from_vector<int64_t>({0, 5, 63, 7});
  const Tensor a = net.run(ids);
  const Tensor b = loaded.run(ids);
  for (const auto& i : testing::all_indices(a.shape())) ASSERT_EQ(at(a, i), at(b, i));
  for (int64_t k = 0; k < 256; ++k) EXPECT_EQ(at(loaded.fc->pq().counts, {k}), at(net.fc->pq().counts, {k}));
  fs::remove(path);
}

Tensor named(const Module& model, const std::string& name) {
  for (const NamedTensor& t : model.state_dict()) {
    if (t.name == name) return t.tensor;
  }
  throw_error("test", "no tensor " + name);
}

// int8, int4 and iPQ & int8 files: every coded tensor is an affine code of the original (within half a step of
// it inside the range, checked in f64), the model rounded in memory equals the loaded one bit for bit, and the
// report is the paper's: float bytes / 4 or / 8 for int8 / int4, 1-byte centroids for iPQ & int8.
TEST(CompressedFile, ScalarStorageRoundTripsAndCountsAsThePaper) {
  for (const CompressOptions storage : {CompressOptions{16, 8}, CompressOptions{16, 4}, CompressOptions{8, 8}}) {
    SCOPED_TRACE(std::to_string(storage.centroid_bits) + "/" + std::to_string(storage.other_bits));
    Generator gen(43);
    manual_seed(43);
    Net net;
    if (storage.centroid_bits == 8) net.fc->quantize(options(8, 64, &gen));
    std::map<std::string, Tensor> original;
    for (const NamedTensor& t : net.named_parameters()) original.emplace(t.name, t.tensor.clone());

    const CompressedModel encoded = encode_compressed(net, storage, {{"name", "net"}});
    round_to_storage(net, encoded);
    const nlohmann::json& coded = encoded.metadata.at("scalar");
    EXPECT_EQ(coded.size(), storage.centroid_bits == 8 ? 6u : 7u);  // every parameter but the PQ centroids
    for (const nlohmann::json& entry : coded) {
      const std::string name = entry.at("name");
      const double scale = entry.at("scale"), zero = entry.at("zero_point");
      const double low = -scale * zero, high = scale * ((1 << storage.other_bits) - 1 - zero);
      const Tensor& before = original.at(name);
      const Tensor after = named(net, name);
      for (const auto& i : testing::all_indices(before.shape())) {
        const double w = at(before, i), q = at(after, i);
        ASSERT_GE(q, low - 1e-6);
        ASSERT_LE(q, high + 1e-6);
        if (w >= low && w <= high) {
          ASSERT_LE(std::abs(q - w), scale / 2 * (1 + 1e-5)) << name;
        }
        ASSERT_NEAR(std::fmod(q / scale + zero + 1000.5, 1.0), 0.5, 1e-3) << name << ": not on the grid";
      }
    }
    const fs::path path = fs::temp_directory_path() / ("qn_scalar_" + std::to_string(getpid()) + ".safetensors");
    save_compressed(path.string(), encoded);
    manual_seed(7);
    Net loaded;
    load_compressed(path.string(), loaded);
    const Tensor ids = from_vector<int64_t>({0, 5, 63, 7});
    const Tensor a = net.run(ids), b = loaded.run(ids);
    for (const auto& i : testing::all_indices(a.shape())) ASSERT_EQ(at(a, i), at(b, i));

    const SizeReport from_file = file_size_report(path.string());
    SizeOptions counted;
    counted.other_bits = storage.other_bits;
    counted.centroid_bits = storage.centroid_bits;
    EXPECT_DOUBLE_EQ(from_file.total_bytes(), size_report(net, counted).total_bytes());
    if (storage.centroid_bits == 16) {
      EXPECT_DOUBLE_EQ(from_file.total_bytes(), from_file.float_bytes * storage.other_bits / 32);
    }
    fs::remove(path);
  }
}

TEST(CompressedFile, DamagedFilesAreRefused) {
  Generator gen(42);
  Net net;
  net.fc->quantize(options(8, 5, &gen));  // 3-bit codes, K = 5
  const fs::path path = fs::temp_directory_path() / ("qn_damaged_" + std::to_string(getpid()) + ".safetensors");
  save_compressed(path.string(), net, CompressOptions{});
  // Set every code bit: codes 7 >= K.
  SafetensorsContent content = load_safetensors(path.string());
  std::vector<NamedTensor> tensors;
  for (NamedTensor& t : content.tensors) {
    if (t.name == "fc.codes") t.tensor = full(t.tensor.shape(), 255.0, DType::u8);
    tensors.push_back(t);
  }
  save_safetensors(path.string(), tensors, content.metadata);
  Net fresh;
  EXPECT_QN_ERROR(load_compressed(path.string(), fresh), "names no centroid");
  save_safetensors(path.string(), tensors, {});
  EXPECT_QN_ERROR(load_compressed(path.string(), fresh), "not a quantnoise compressed model");
  fs::remove(path);
}

}  // namespace
}  // namespace qn::nn::quant
