// What the Transformer LM step benchmarks share (bench_models, bench_distributed): the model, its optimizer
// and a batch, the same shapes as bench/peer/models_peer.py.
#pragma once

#include <cstdint>
#include <memory>

#include "autograd/ops.h"
#include "models/transformer_lm.h"
#include "train/adam.h"

namespace qn::bench {

// transformer_lm_small (6 pre-LN layers, d 512, 8 heads, FFN 2048, 32,000 words, tied embeddings) with dropout
// 0.1 everywhere, in training mode, with AdamW (lr 1e-3, weight decay 0.01); weights from seed 0.
struct LmStep {
  // noise: Quant-Noise on the layers the config puts it on (none by default).
  explicit LmStep(const nn::quant::QuantNoise& noise = {}) {
    manual_seed(0);
    models::TransformerLMConfig config = models::TransformerLMConfig::named("transformer_lm_small");
    config.dropout = config.attention_dropout = config.activation_dropout = 0.1;
    config.quant_noise = noise;
    lm = std::make_unique<models::TransformerLM>(config);
    lm->train();
    optimizer = std::make_unique<train::Adam>(std::vector<train::ParamGroup>{{lm->parameters(), 1e-3, 0.01}},
                                              train::adamw_options());
  }
  // rows x length tokens in [4, vocab) from `seed` (no padding): the inputs, and the next tokens as targets.
  void set_batch(int64_t rows, int64_t length, uint64_t seed) {
    Generator gen(seed);
    const Tensor tokens = randint(4, lm->config.vocab_size, {rows, length + 1}, DType::i64, &gen);
    inputs = narrow(tokens, 1, 0, length).contiguous();
    targets = narrow(tokens, 1, 1, length).contiguous();
  }

  std::unique_ptr<models::TransformerLM> lm;
  std::unique_ptr<train::Adam> optimizer;
  Tensor inputs, targets;
};

}  // namespace qn::bench
