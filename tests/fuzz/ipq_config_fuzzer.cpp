// iPQ YAML configs: parsed, then every stage's pattern matched against a Transformer LM's layer names and each
// layer type's K and block size looked up, as `qn train --quantization-config` does.
#include <memory>
#include <string>
#include <vector>

#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/quant/ipq_config.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qn::nn;
  static const std::vector<std::string> names = {"decoder.embed_tokens",
                                                 "decoder.layers.0.self_attn.k_proj",
                                                 "decoder.layers.0.self_attn.out_proj",
                                                 "decoder.layers.0.fc1",
                                                 "decoder.layers.1.fc2",
                                                 "decoder.output_projection"};
  static const auto linear = std::make_shared<Linear>(LinearOptions(16, 32));
  static const auto embedding = std::make_shared<Embedding>(EmbeddingOptions(64, 16));
  const std::string text(reinterpret_cast<const char*>(data), size);
  qn::fuzz::refuse_cleanly([&] {
    const quant::IpqConfig config = quant::IpqConfig::parse(text, "<fuzz>");
    for (int64_t stage = 0; stage < config.num_stages(); ++stage) {
      qn::fuzz::refuse_cleanly([&] { quant::match_layer_names(names, config.layers_to_quantize[stage]); });
    }
    qn::fuzz::refuse_cleanly([&] { config.options_for("decoder.layers.0.fc1", *linear); });
    qn::fuzz::refuse_cleanly([&] { config.options_for("decoder.embed_tokens", *embedding); });
  });
  return 0;
}
