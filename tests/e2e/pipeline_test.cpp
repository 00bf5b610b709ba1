// qn train / compress / eval end to end, as a user runs them, on real data in miniature: each task trains for a
// few updates, is compressed (iPQ with fine-tuning, int8, int4, iPQ & int8), and qn eval of every compressed
// file gives exactly the metrics qn compress measured on the quantized model in memory before writing it. Sizes
// are checked against the paper's counting (docs/METHOD.md, size accounting) computed here from the float model's
// parameter count. Bad input to each subcommand gives one "qn: error:" line, a non-zero exit and no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "core/safetensors.h"
#include "data/gz_file.h"
#include "tests/data/data_files.h"
#include "tests/qn_binary.h"

namespace qn {
namespace {

namespace fs = std::filesystem;
using testing::QnBinary;

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

class Pipeline : public QnBinary {
 protected:
  nlohmann::json run_json(const std::string& arguments) {
    EXPECT_EQ(qn(arguments + " --json"), 0) << arguments << "\n" << stderr_;
    const nlohmann::json out = nlohmann::json::parse(stdout_, nullptr, false);
    EXPECT_FALSE(out.is_discarded()) << stdout_;
    return out;
  }

  // Compresses, then evaluates the file: the metrics must be equal to the last bit.
  nlohmann::json compress_and_check(const std::string& checkpoint, const std::string& task_flags,
                                    const std::string& compress_flags, const std::string& name) {
    SCOPED_TRACE(name);
    const std::string out = path(name + ".safetensors");
    const nlohmann::json compressed = run_json("compress " + checkpoint + " " + task_flags + " " + compress_flags +
                                               " --out " + out + " --no-progress-bar");
    const nlohmann::json evaluated = run_json("eval " + task_flags + " --path " + out);
    EXPECT_EQ(compressed.at("metrics"), evaluated.at(0).at("metrics"));
    EXPECT_EQ(compressed.at("size"), evaluated.at(0).at("size"));
    return compressed;
  }

  // Exit non-zero with one error line naming `message`, and no file at `output` (when given).
  void expect_error(const std::string& arguments, const std::string& message, const std::string& output = "") {
    SCOPED_TRACE(arguments);
    EXPECT_NE(qn(arguments), 0);
    EXPECT_NE(stderr_.find("qn: error: "), std::string::npos) << stderr_;
    EXPECT_NE(stderr_.find(message), std::string::npos) << stderr_;
    EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
    if (!output.empty()) {
      EXPECT_FALSE(fs::exists(output));
    }
  }

  // The first `lines` lines of a gzipped WikiText-2 split, as plain text.
  std::string wikitext_head(const fs::path& data_dir, const std::string& split, int64_t lines) {
    std::ofstream out(path(split + ".txt"));
    data::for_each_line((data_dir / (split + ".txt.gz")).string(), "test", [&](std::string_view line, int64_t number) {
      if (number <= lines) out << line << "\n";
    });
    return path(split + ".txt");
  }
};

TEST_F(Pipeline, ImageClassificationOnFashionMnist) {
  if (!fs::exists(kFashion + "/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string task = kFashion + " --task image_classification --batch-size 64 --batch-size-valid 1000";
  ASSERT_EQ(qn("train " + task +
               " --arch efficientnet_tiny --quant-noise-pq 0.1 "
               "--max-update 100 --lr 0.003 --no-progress-bar --save-dir " +
               path("run")),
            0)
      << stderr_;
  const std::string checkpoint = path("run/checkpoint_last.safetensors");
  const nlohmann::json float_eval = run_json("eval " + task + " --path " + checkpoint);
  const double float_accuracy = float_eval.at(0).at("metrics").at("accuracy").get<double>();
  EXPECT_GT(float_accuracy, 40.0);  // 10 classes: chance is 10%
  const double float_mib = float_eval.at(0).at("size").at("float_mib").get<double>();
  const int64_t parameters = float_eval.at(0).at("size").at("parameters").get<int64_t>();
  EXPECT_DOUBLE_EQ(float_mib, 4.0 * static_cast<double>(parameters) / (1024.0 * 1024.0));

  // --rmsprop-alpha and --rmsprop-eps reach the optimizer: one step from zero state saves the square average
  // v = (1 - alpha) g^2 and moves a weight by lr |g| / (sqrt(v) + eps), so |g| = sqrt(v / (1 - alpha)).
  ASSERT_EQ(qn("train " + task + " --arch efficientnet_tiny --restore-file " + checkpoint +
               " --optimizer rmsprop --rmsprop-alpha 0.5 --rmsprop-eps 0.25 --lr 0.01 --max-update 1 "
               "--no-progress-bar --save-dir " +
               path("rmsprop")),
            0)
      << stderr_;
  {
    const SafetensorsContent before = load_safetensors(checkpoint);
    const SafetensorsContent after = load_safetensors(path("rmsprop/checkpoint_last.safetensors"));
    const Tensor p0 = before.at("model.classifier.1.bias").contiguous();
    const Tensor p1 = after.at("model.classifier.1.bias").contiguous();
    // The optimizer's state is keyed "optimizer.GROUP.INDEX.square_avg" in parameter order, and the classifier
    // bias is the model's last parameter.
    int64_t last = -1;
    for (const NamedTensor& t : after.tensors) {
      if (t.name.starts_with("optimizer.0.") && t.name.ends_with(".square_avg")) {
        last = std::max<int64_t>(last, std::stoll(t.name.substr(12)));
      }
    }
    const Tensor v = after.at("optimizer.0." + std::to_string(last) + ".square_avg").contiguous();
    ASSERT_EQ(v.shape(), p0.shape());
    for (int64_t i = 0; i < p0.numel(); ++i) {
      const double vi = v.data_ptr<float>()[i];
      const double gradient = std::sqrt(vi / 0.5);
      const double moved = std::abs(double{p1.data_ptr<float>()[i]} - p0.data_ptr<float>()[i]);
      EXPECT_NEAR(moved, 0.01 * gradient / (std::sqrt(vi) + 0.25), 1e-6) << "classifier bias " << i;
    }
  }

  const std::string recipe = std::string(QN_SOURCE_DIR) + "/tools/recipes/efficientnet_ipq.yaml";
  const nlohmann::json ipq = compress_and_check(
      checkpoint, task, "--quantization-config-path " + recipe + " --max-update 3 --lr 0.0005", "ipq");
  EXPECT_GT(ipq.at("size").at("ratio").get<double>(), 4.0);
  // The paper's scalar sizes: every parameter at 8 or 4 bits.
  const nlohmann::json int8 = compress_and_check(checkpoint, task, "--other-bits 8", "int8");
  EXPECT_DOUBLE_EQ(int8.at("size").at("total_mib").get<double>(), float_mib / 4);
  EXPECT_GT(int8.at("metrics").at("accuracy").get<double>(), float_accuracy - 5.0);
  const nlohmann::json int4 = compress_and_check(checkpoint, task, "--other-bits 4", "int4");
  EXPECT_DOUBLE_EQ(int4.at("size").at("total_mib").get<double>(), float_mib / 8);
  const nlohmann::json ipq_int8 = compress_and_check(
      checkpoint, task, "--quantization-config-path " + recipe + " --centroid-bits 8 --other-bits 8", "ipq_int8");
  EXPECT_LT(ipq_int8.at("size").at("total_mib").get<double>(), ipq.at("size").at("total_mib").get<double>());

  // Bad input.
  expect_error("train " + task + " --arch efficientnet_tiny --max-update 1 --no-such-flag", "--no-such-flag");
  expect_error("eval " + task + " --path " + path("missing.safetensors"), "missing.safetensors");
  expect_error("eval " + kFashion + " --task language_modeling --path " + checkpoint, "dict.txt");
  std::ofstream(path("no_layer.yaml")) << "n_centroids: {Conv2d: {key: in_channels, value: {'*': 256}}}\n"
                                          "block_sizes: {Conv2d: {key: in_channels, value: {'*': 4}}}\n"
                                          "layers_to_quantize: ['no\\.such\\.layer']\n";
  expect_error("compress " + checkpoint + " " + task + " --quantization-config-path " + path("no_layer.yaml") +
                   " --out " + path("never.safetensors"),
               "selects no layer", path("never.safetensors"));
  expect_error("compress " + checkpoint + " " + task + " --out " + path("never.safetensors"), "nothing to do",
               path("never.safetensors"));
  expect_error("train " + task + " --arch roberta_tiny --max-update 1", "efficientnet");
  expect_error("eval " + task + " --device tpu --path " + checkpoint, "unknown device 'tpu'");
  if (!cuda::available()) {  // a GPU asked for where there is none
    expect_error("train " + task + " --arch efficientnet_tiny --max-update 1 --device cuda", "cannot use cuda:0");
  }
}

TEST_F(Pipeline, LanguageModelingAndMaskedLmOnWikiText2) {
  REQUIRE_SHARED_DATA("wikitext-2");
  ASSERT_EQ(qn("preprocess --only-source --trainpref " + wikitext_head(data_dir, "train", 1500) + " --validpref " +
               wikitext_head(data_dir, "valid", 150) + " --destdir " + path("bin")),
            0)
      << stderr_;
  const std::string task = path("bin") + " --task language_modeling --tokens-per-sample 64 --max-tokens 2048";
  ASSERT_EQ(qn("train " + task +
               " --arch transformer_lm_tiny --max-update 30 --lr 0.002 --no-progress-bar "
               "--quant-noise-pq 0.1 --quant-noise-pq-block-size 4 --save-dir " +
               path("lm")),
            0)
      << stderr_;
  const std::string checkpoint = path("lm/checkpoint_last.safetensors");
  const nlohmann::json lm = run_json("eval " + task + " --context-window 32 --path " + checkpoint);
  const double ppl = lm.at(0).at("metrics").at("ppl").get<double>();
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 2000.0);  // far below the ~8,000-word vocabulary of a uniform guess
  std::ofstream(path("ffn.yaml")) << "n_centroids: {Linear: {key: in_features, value: {'*': 64}}}\n"
                                     "block_sizes: {Linear: {key: fuzzy_name, value: {fc: 8}}}\n"
                                     "layers_to_quantize: ['decoder\\.layers\\.\\d+\\.fc[12]']\n";
  compress_and_check(checkpoint, task, "--quantization-config-path " + path("ffn.yaml") + " --max-update 2", "lm_ipq");
  compress_and_check(checkpoint, task, "--other-bits 8", "lm_int8");
  expect_error("train " + task + " --arch transformer_lm_tiny --max-update 1 --sync-bn", "has no BatchNorm layer");

  const std::string mlm = path("bin") + " --task masked_lm --tokens-per-sample 64 --batch-size 8";
  ASSERT_EQ(qn("train " + mlm + " --arch roberta_tiny --max-update 10 --amp bf16 --no-progress-bar --save-dir " +
               path("mlm")),
            0)
      << stderr_;
  expect_error("train " + mlm + " --arch roberta_tiny --max-update 1 --amp fp32", "--amp");
  compress_and_check(path("mlm/checkpoint_last.safetensors"), mlm, "--other-bits 8", "mlm_int8");
}

TEST_F(Pipeline, SentencePredictionOnRte) {
  REQUIRE_SHARED_DATA("glue/rte");
  const std::filesystem::path bpe = data::testing::shared_data() / "gpt2-bpe";
  if (!std::filesystem::exists(bpe)) GTEST_SKIP() << data::testing::missing_data_set("gpt2-bpe");
  const std::string task = data_dir.string() + " --task sentence_prediction --bpe-dir " + bpe.string() +
                           " --batch-size 16 --tokens-per-sample 128";
  ASSERT_EQ(qn("train " + task + " --arch roberta_tiny --max-update 8 --no-progress-bar --save-dir " + path("rte")), 0)
      << stderr_;
  const nlohmann::json dev = run_json("eval " + task + " --path " + path("rte/checkpoint_last.safetensors"));
  const double accuracy = dev.at(0).at("metrics").at("accuracy").get<double>();
  EXPECT_GE(accuracy, 0.0);
  EXPECT_LE(accuracy, 100.0);
  compress_and_check(path("rte/checkpoint_last.safetensors"), task, "--other-bits 8", "rte_int8");
}

}  // namespace
}  // namespace qn
