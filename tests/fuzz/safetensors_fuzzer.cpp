// safetensors: parsed from memory, and from a file header alone (the two readers the engine has).
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/generator.h"
#include "core/safetensors.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
// Seeds: one tensor of each stored dtype, a scalar, an empty tensor and metadata.
void write_seeds(const std::string& folder) {
  using namespace qn;
  Generator gen(1);
  const std::vector<NamedTensor> tensors = {{"weight", randn({3, 4}, DType::f32, &gen)},
                                            {"half", randn({5}, DType::f16, &gen)},
                                            {"brain", randn({2, 2}, DType::bf16, &gen)},
                                            {"wide", randn({2}, DType::f64, &gen)},
                                            {"ids", arange(6).view({2, 3})},
                                            {"count", full({}, 7.0, DType::i32)},
                                            {"codes", full({4}, 200.0, DType::u8)},
                                            {"empty", zeros({0, 3}, DType::f32)}};
  const std::string path = folder + "/all_dtypes.safetensors";
  save_safetensors(path, tensors, {{"format", "pt"}, {"note", "seed"}});
  save_safetensors(folder + "/one.safetensors", {tensors[0]}, {});
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qn::fuzz::answer_seed_request(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  qn::fuzz::refuse_cleanly([&] {
    const qn::SafetensorsContent content = qn::parse_safetensors(bytes);
    double sum = 0;  // read every element: the tensors must really hold what their shapes say
    for (const qn::NamedTensor& t : content.tensors) {
      const qn::Tensor wide = t.tensor.to(qn::DType::f64);
      for (int64_t i = 0; i < wide.numel(); ++i) sum += wide.data_ptr<double>()[i];
    }
    if (sum == 0.5) std::printf(" ");  // keeps the reads
  });
  const std::string& path = qn::fuzz::input_file(bytes);
  qn::fuzz::refuse_cleanly([&] { qn::load_safetensors_metadata(path); });
  qn::fuzz::refuse_cleanly([&] { qn::load_safetensors(path); });
  return 0;
}
