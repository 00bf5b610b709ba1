// Models by name, for the command-line tools: "transformer_lm_*", "roberta_*" and "efficientnet_b*", each
// with optional JSON overrides of its config fields ({"layers": 2, "dropout": 0, "cutoffs": [200, 500]}).
// An unknown name or field, or a value of the wrong type, is an error naming it.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nn/module.h"

namespace qn::models {

enum class ModelFamily { kLanguageModel, kRoberta, kImage };

struct ModelOutputs {
  Tensor logits;  // language model (N, T, vocab); RoBERTa MLM (N, T, vocab) or classes (N, C); images (N, C)
  Tensor loss;    // undefined without targets
};

struct BuiltModel {
  ModelFamily family;
  std::shared_ptr<nn::Module> module;
  // One forward of inputs (token ids (N, T) or images (N, 3, H, W)) to the logits and, given targets, the
  // training loss from the same pass (language model: next-token targets (N, T); RoBERTa: MLM targets (N, T)
  // with -100 ignored when it has the LM head, else labels (N); image models: labels (N)).
  ModelOutputs run(const Tensor& inputs, const Tensor& targets = {}) const;
  // The training loss alone: what training and loss-only evaluation need. The language model then never forms
  // its full-vocabulary output (its loss is scored from the hidden states: adaptive softmax only on each
  // target's band), which is most of an adaptive-softmax model's evaluation time; RoBERTa's LM head runs on the
  // masked positions only.
  Tensor loss(const Tensor& inputs, const Tensor& targets) const;

  // The device the model's parameters live on; run() and loss() bring their inputs there.
  Device device = Device::cpu();
  // Moves the parameters and buffers to device.
  void to(Device target);
};

// The overrides given inline (text starting with '{') or in a JSON file (null for empty text); malformed JSON or
// a missing file is an error naming it. Whether they form an object is build_model's check.
nlohmann::json load_overrides(const std::string& text);

// overrides: a JSON object (or null). Throws qn::Error on an unknown model or field.
BuiltModel build_model(const std::string& name, const nlohmann::json& overrides = nullptr);

// The config of model `name` with Quant-Noise off and the same parameters: the noise fields removed, and the
// layer that exists only with noise (fairseq's embedding Linear in the Transformer LM and RoBERTa) kept through
// embedding_projection. What a trained checkpoint is fine-tuned, compressed and evaluated as.
nlohmann::json without_quant_noise(const std::string& name, nlohmann::json config);

}  // namespace qn::models
