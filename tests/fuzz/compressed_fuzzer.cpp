// Compressed model files: loaded into a float model of the architecture they claim (`qn eval` of a .qnz), and
// sized from the file alone (`qn size`).
#include <cstdlib>
#include <memory>

#include "core/generator.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/quant/compressed.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
using namespace qn;
using namespace qn::nn;

struct Net : Module {
  Net() : Module("Net") {
    table = register_module("table", std::make_shared<Embedding>(EmbeddingOptions(16, 8)));
    fc = register_module("fc", std::make_shared<Linear>(LinearOptions(8, 16)));
    norm = register_module("norm", std::make_shared<LayerNorm>(LayerNormOptions({16})));
    out = register_module("out", std::make_shared<Linear>(LinearOptions(16, 4)));
  }
  Tensor run(const Tensor& ids) { return (*out)((*norm)((*fc)((*table)(ids)))); }
  std::shared_ptr<Embedding> table;
  std::shared_ptr<Linear> fc;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> out;
};

// Seeds: iPQ, int8, int4 and iPQ & int8 storage of the same net, two of its layers product-quantized.
void write_seeds(const std::string& folder) {
  for (const quant::CompressOptions storage : {quant::CompressOptions{16, 32}, quant::CompressOptions{16, 8},
                                               quant::CompressOptions{16, 4}, quant::CompressOptions{8, 8}}) {
    Generator gen(7);
    manual_seed(7);
    Net net;
    PqOptions options;
    options.block_size = 4;
    options.kmeans.n_centroids = 8;
    options.kmeans.n_iter = 3;
    options.kmeans.generator = &gen;
    net.fc->quantize(options);
    options.kmeans.n_centroids = 5;  // 3-bit codes
    net.table->quantize(options);
    const std::string name =
        "net_" + std::to_string(storage.centroid_bits) + "_" + std::to_string(storage.other_bits) + ".safetensors";
    quant::save_compressed(folder + "/" + name, net, storage, {{"name", "net"}});
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::answer_seed_request(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::input_file({data, size});
  fuzz::refuse_cleanly([&] { quant::file_size_report(path); });
  fuzz::refuse_cleanly([&] {
    Net net;
    quant::load_compressed(path, net);
    net.run(from_vector<int64_t>({0, 3, 15}, {3}));  // a loaded model runs
  });
  return 0;
}
