// qn forward, convert and preprocess, run as the binary: forward's logits, loss and gradients equal those of
// the same model run in this process (bit for bit: same code, same weights, same seed), for each model family;
// and each kind of bad input gives one clear error line and a non-zero exit.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/safetensors.h"
#include "data/dictionary.h"
#include "data/token_file.h"
#include "models/registry.h"
#include "models/roberta.h"
#include "tests/qn_binary.h"
#include "tests/reference.h"

namespace qn::models {
namespace {

namespace fs = std::filesystem;

using testing::QnBinary;

void expect_equal(const Tensor& ours, const Tensor& theirs, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(ours.shape(), theirs.shape());
  for (const auto& i : testing::all_indices(ours.shape())) ASSERT_EQ(testing::at(ours, i), testing::at(theirs, i));
}

struct FamilyCase {
  std::string model, config;
  std::vector<NamedTensor> inputs;
};

TEST_F(QnBinary, MatchesTheModelInProcess) {
  const std::vector<FamilyCase> cases = {
      {"transformer_lm_tiny",
       R"({"dropout": 0.1})",
       {{"input_ids", from_vector<int64_t>({5, 250, 999, 17, 600, 3}, {2, 3})},
        {"target", from_vector<int64_t>({250, 999, 17, 600, 3, 201}, {2, 3})}}},
      {"roberta_tiny",
       R"({"num_classes": 3, "lm_head": false})",
       {{"input_ids", from_vector<int64_t>({0, 37, 2, 0, 44, 2}, {2, 3})}, {"labels", from_vector<int64_t>({2, 0})}}},
      {"efficientnet_b0",
       R"({"num_classes": 4, "torchvision": true})",
       {{"images", testing::random({2, 3, 32, 32}, DType::f32, 4)}, {"labels", from_vector<int64_t>({1, 3})}}}};
  for (const FamilyCase& c : cases) {
    SCOPED_TRACE(c.model);
    std::ofstream(path("config.json")) << c.config;
    manual_seed(3);
    const BuiltModel built = build_model(c.model, nlohmann::json::parse(c.config));
    save_safetensors(path("weights.safetensors"), built.module->state_dict());
    save_safetensors(path("inputs.safetensors"), c.inputs);
    ASSERT_EQ(qn("forward --model " + c.model + " --config " + path("config.json") + " --weights " +
                 path("weights.safetensors") + " --inputs " + path("inputs.safetensors") + " --out " +
                 path("out.safetensors") + " --train --grad --seed 7"),
              0)
        << stderr_;
    const SafetensorsContent written = load_safetensors(path("out.safetensors"));
    // The same in this process, after the binary (BatchNorm's running statistics move in training).
    manual_seed(7);
    built.module->train(true);
    const ModelOutputs ours = built.run(c.inputs[0].tensor, c.inputs[1].tensor);
    ours.loss.backward();
    expect_equal(ours.logits, written.at("logits"), "logits");
    expect_equal(ours.loss, written.at("loss"), "loss");
    for (const NamedTensor& p : built.module->named_parameters()) {
      if (p.tensor.grad().defined()) expect_equal(p.tensor.grad(), written.at("grad." + p.name), p.name);
    }
  }
}

TEST_F(QnBinary, BadInputIsOneClearLine) {
  manual_seed(3);
  const BuiltModel built = build_model("transformer_lm_tiny");
  save_safetensors(path("weights.safetensors"), built.module->state_dict());
  save_safetensors(path("ids.safetensors"), {{"input_ids", from_vector<int64_t>({5, 6}, {1, 2})}});
  save_safetensors(path("floats.safetensors"), {{"input_ids", ones({1, 2})}});
  save_safetensors(path("renamed.safetensors"), {{"tokens", from_vector<int64_t>({5, 6}, {1, 2})}});
  const std::string weights = " --weights " + path("weights.safetensors");
  const std::string out = " --out " + path("out.safetensors");
  const std::pair<std::string, std::string> bad[] = {
      {"--model transformer_lm_tiny" + weights + " --inputs " + path("floats.safetensors") + out,
       "'input_ids' must be i64 (B, T)"},
      {"--model transformer_lm_tiny" + weights + " --inputs " + path("renamed.safetensors") + out,
       "unexpected tensor 'tokens'"},
      {"--model transformer_lm_tiny" + weights + " --inputs " + path("ids.safetensors") + out + " --grad",
       "--grad needs targets"},
      {"--model transformer_lm_small" + weights + " --inputs " + path("ids.safetensors") + out, "decoder."},
      {"--model transformer_lm_tinny" + weights + " --inputs " + path("ids.safetensors") + out, "transformer_lm_tinny"},
      {"--model transformer_lm_tiny --weights " + path("missing.safetensors") + " --inputs " + path("ids.safetensors") +
           out,
       "missing.safetensors"}};
  for (const auto& [arguments, message] : bad) {
    SCOPED_TRACE(arguments);
    EXPECT_NE(qn("forward " + arguments), 0);
    EXPECT_NE(stderr_.find(message), std::string::npos) << stderr_;
    EXPECT_EQ(stderr_.rfind("qn: error: ", 0), 0u) << stderr_;
    EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
  }
  EXPECT_FALSE(fs::exists(path("out.safetensors")));
}

// qn size --model takes its --config inline or from a file, as qn train's --model-config does: both give the
// overridden model's parameter count (the tiny LM at 3 layers: its count in process).
TEST_F(QnBinary, SizeOfAModelConfigInlineOrInAFile) {
  const int64_t expected = [] {
    int64_t count = 0;
    for (const NamedTensor& p : build_model("transformer_lm_tiny", {{"layers", 3}}).module->named_parameters()) {
      count += p.tensor.numel();
    }
    return count;
  }();
  std::ofstream(path("three.json")) << R"({"layers": 3})";
  for (const std::string& config : {std::string("'{\"layers\": 3}'"), path("three.json")}) {
    SCOPED_TRACE(config);
    ASSERT_EQ(qn("size --json --model transformer_lm_tiny --config " + config), 0) << stderr_;
    EXPECT_EQ(nlohmann::json::parse(stdout_).at("parameters").get<int64_t>(), expected);
  }
  EXPECT_NE(qn("size --model transformer_lm_tiny --config '{\"layers\": }'"), 0);
  EXPECT_NE(stderr_.find("not valid JSON"), std::string::npos) << stderr_;
  EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
}

}  // namespace
}  // namespace qn::models

namespace qn::models {
namespace {

// qn convert as the binary: a Hugging Face state dict with a token-type row converts into weights that
// `qn forward --model roberta_tiny` accepts; an unknown name fails with one line and writes nothing.
TEST_F(QnBinary, ConvertFeedsForwardAndRefusesUnknownNames) {
  manual_seed(4);
  RobertaConfig config = RobertaConfig::named("roberta_tiny");
  config.type_vocab_size = 1;
  Roberta hf(config);
  std::vector<NamedTensor> state = hf.state_dict();
  save_safetensors(path("hf.safetensors"), state);
  ASSERT_EQ(qn("convert --from hf-roberta " + path("hf.safetensors") + " " + path("ours.safetensors")), 0) << stderr_;
  save_safetensors(path("ids.safetensors"), {{"input_ids", from_vector<int64_t>({0, 7, 2}, {1, 3})}});
  EXPECT_EQ(qn("forward --model roberta_tiny --weights " + path("ours.safetensors") + " --inputs " +
               path("ids.safetensors") + " --out " + path("out.safetensors")),
            0)
      << stderr_;

  state.push_back({"roberta.encoder.layer.0.adapter.weight", zeros({2})});
  save_safetensors(path("odd.safetensors"), state);
  EXPECT_NE(qn("convert --from hf-roberta " + path("odd.safetensors") + " " + path("odd_out.safetensors")), 0);
  EXPECT_NE(stderr_.find("'roberta.encoder.layer.0.adapter.weight' is not a Hugging Face RoBERTa"), std::string::npos)
      << stderr_;
  EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
  EXPECT_FALSE(fs::exists(path("odd_out.safetensors")));
  EXPECT_NE(qn("convert --from bert " + path("hf.safetensors") + " " + path("odd_out.safetensors")), 0);
  EXPECT_NE(stderr_.find("fairseq-roberta, hf-roberta"), std::string::npos) << stderr_;
}

// tools/export_state_dict.py: a fairseq-style torch.save({"model": ..., "args": ...}) becomes safetensors with
// every tensor's dtype, shape and values (arange-made, so they are known here), tied copies included.
TEST_F(QnBinary, ExportStateDictWritesSafetensors) {
  const std::string script =
      "import torch\n"
      "w = torch.arange(12, dtype=torch.float32).view(3, 4)\n"
      "torch.save({'model': {'encoder.w': w, 'encoder.tied': w, 'h': torch.arange(3).half(),\n"
      "            'n': torch.arange(5), 'e': torch.zeros(0, 2)}, 'args': None}, '" +
      path("ckpt.pt") + "')\n";
  std::ofstream(path("make.py")) << script;
  ASSERT_EQ(std::system(("/usr/bin/python3 " + path("make.py")).c_str()), 0) << "python3-torch is a test dependency";
  ASSERT_EQ(std::system(("/usr/bin/python3 " QN_SOURCE_DIR "/tools/export_state_dict.py " + path("ckpt.pt") + " " +
                         path("ckpt.safetensors") + " >/dev/null")
                            .c_str()),
            0);
  const SafetensorsContent content = load_safetensors(path("ckpt.safetensors"));
  ASSERT_EQ(content.tensors.size(), 5u);
  for (const char* name : {"encoder.w", "encoder.tied"}) {
    const Tensor& w = content.at(name);
    ASSERT_EQ(w.shape(), Shape({3, 4}));
    for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(testing::at(w, {i / 4, i % 4}), static_cast<double>(i));
  }
  EXPECT_EQ(content.at("h").dtype(), DType::f16);
  EXPECT_EQ(testing::at(content.at("h"), {2}), 2.0);
  EXPECT_EQ(content.at("n").dtype(), DType::i64);
  EXPECT_EQ(testing::at(content.at("n"), {4}), 4.0);
  EXPECT_EQ(content.at("e").shape(), Shape({0, 2}));
}

}  // namespace
}  // namespace qn::models

namespace qn::models {
namespace {

// qn preprocess as the binary: the dictionary in fairseq's order and padding, and token files with <unk> for
// unseen words; a missing corpus fails with one line and leaves no output folder.
TEST_F(QnBinary, PreprocessWritesDictionaryAndTokenFiles) {
  std::ofstream(path("train.txt")) << "a b c\nb c\n";
  std::ofstream(path("valid.txt")) << "c d\n";
  const std::string out = path("bin");
  ASSERT_EQ(qn("preprocess --only-source --trainpref " + path("train.txt") + " --validpref " + path("valid.txt") +
               " --destdir " + out),
            0)
      << stderr_;
  std::ifstream dict(out + "/dict.txt");
  std::stringstream text;
  text << dict.rdbuf();
  // b 2 and c 2 (a tie, in code point order), a 1; 7 symbols padded to 8.
  EXPECT_EQ(text.str(), "b 2\nc 2\na 1\nmadeupword0000 0\n");
  const data::TokenFile valid(out + "/valid.tok");
  ASSERT_EQ(valid.size(), 3);
  EXPECT_EQ(valid.token(0), 5);                       // c
  EXPECT_EQ(valid.token(1), data::Dictionary::kUnk);  // d
  EXPECT_EQ(valid.token(2), data::Dictionary::kEos);
  EXPECT_EQ(valid.vocabulary_size(), 8);

  EXPECT_NE(qn("preprocess --trainpref " + path("missing.txt") + " --destdir " + path("never")), 0);
  EXPECT_NE(stderr_.find("cannot open"), std::string::npos) << stderr_;
  EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
  EXPECT_FALSE(fs::exists(path("never")));
}

}  // namespace
}  // namespace qn::models
