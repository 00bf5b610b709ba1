// Every pipeline on the simulated device (core/device.h) against the same run on the CPU: `qn train` for each task
// with each kind of Quant-Noise, mixed precision, accumulation, clipping and every optimizer, a resumed run, iPQ
// through its stages, `qn compress`, `qn eval` and `qn forward` of the compressed file. Where both devices take the
// same algorithms the losses and the final weights agree bit for bit; where the device takes the GPU's choice
// (k-means' assignment step: GEMM scores instead of the CPU's fused kernel) within 1e-5 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/qn_binary.h"
#include "tests/sim/tiny_data.h"

namespace qn {
namespace {

namespace fs = std::filesystem;

class SimPipeline : public testing::QnBinary {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("qn_sim_pipeline_" + std::to_string(getpid()));
    data_ = new testing::TinyData(testing::write_tiny_data(root_.string()));
  }
  static void TearDownTestSuite() {
    fs::remove_all(root_);
    delete data_;
  }

  static std::string lm_task() {
    return data_->text + " --task language_modeling --tokens-per-sample 32 --batch-size 4 --arch transformer_lm_tiny" +
           " --model-config '{\"cutoffs\": [8, 20]}'";
  }
  static std::string mlm_task() {
    return data_->text + " --task masked_lm --tokens-per-sample 32 --batch-size 4 --arch roberta_tiny";
  }
  static std::string sentence_task() {
    return data_->glue + " --task sentence_prediction --bpe-dir " + data_->bpe + " --batch-size 8 --arch roberta_tiny";
  }
  static std::string image_task() {
    return data_->images + " --task image_classification --batch-size 16 --arch efficientnet_tiny";
  }

  // `qn train` on `device` into save dir `name`.
  void train(const std::string& flags, const std::string& device, const std::string& name) {
    ASSERT_EQ(qn("train " + flags + " --device " + device + " --save-dir " + path(name) +
                 " --log-interval 1 --no-progress-bar --seed 3"),
              0)
        << device << ": " << stderr_;
  }

  // The "train" and "valid" records of a run's log, without their timings.
  std::vector<nlohmann::json> log_of(const std::string& name) {
    std::vector<nlohmann::json> records;
    std::ifstream in(path(name + "/train_log.jsonl"));
    for (std::string line; std::getline(in, line);) {
      nlohmann::json record = nlohmann::json::parse(line);
      if (record["event"] != "train" && record["event"] != "valid" && record["event"] != "overflow") continue;
      record.erase("samples_per_s");
      record.erase("elapsed_s");
      records.push_back(record);
    }
    return records;
  }

  // The tensors of a saved file; the two files must hold the same names, shapes and dtypes, and every value must
  // lie within `relative` of the other's (0: the same bits).
  static void expect_same_tensors(const std::string& a_path, const std::string& b_path, double relative) {
    const SafetensorsContent a = load_safetensors(a_path), b = load_safetensors(b_path);
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (size_t i = 0; i < a.tensors.size(); ++i) {
      const Tensor& x = a.tensors[i].tensor;
      const Tensor& y = b.tensors[i].tensor;
      SCOPED_TRACE(a.tensors[i].name);
      ASSERT_EQ(a.tensors[i].name, b.tensors[i].name);
      ASSERT_EQ(x.shape(), y.shape());
      ASSERT_EQ(x.dtype(), y.dtype());
      if (relative == 0 || !is_floating(x.dtype())) {
        EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()), 0);
        continue;
      }
      const Tensor xf = x.to(DType::f64), yf = y.to(DType::f64);
      const double* p = xf.data_ptr<double>();
      const double* q = yf.data_ptr<double>();
      double scale = 0, worst = 0;
      for (int64_t k = 0; k < xf.numel(); ++k) {
        scale = std::max(scale, std::abs(p[k]));
        worst = std::max(worst, std::abs(p[k] - q[k]));
      }
      EXPECT_LE(worst, relative * std::max(scale, 1e-30));
    }
  }

  // Trains on the CPU and on sim:0 and checks the two runs agree: the logs exactly, the checkpoints bit for bit.
  void expect_same_training(const std::string& flags) {
    train(flags, "cpu", "cpu");
    train(flags, "sim", "sim");
    const std::vector<nlohmann::json> cpu = log_of("cpu"), sim = log_of("sim");
    ASSERT_FALSE(cpu.empty());
    EXPECT_EQ(cpu, sim);
    expect_same_tensors(path("cpu/checkpoint_last.safetensors"), path("sim/checkpoint_last.safetensors"), 0);
  }

  static fs::path root_;
  static testing::TinyData* data_;
};

fs::path SimPipeline::root_;
testing::TinyData* SimPipeline::data_ = nullptr;

TEST_F(SimPipeline, LanguageModelWithProxyNoiseAccumulationAndClipping) {
  expect_same_training(lm_task() + " --quant-noise-pq 0.1 --quant-noise-pq-block-size 4 --optimizer adam --lr 0.003" +
                       " --update-freq 2 --clip-norm 0.1 --max-update 4");
}

TEST_F(SimPipeline, MaskedLmWithInt8NoiseInBf16) {
  expect_same_training(mlm_task() + " --quant-noise-scalar 0.5 --quant-bits 8 --optimizer nag --lr 0.01" +
                       " --amp bf16 --max-update 3");
}

TEST_F(SimPipeline, SentencePredictionWithInt4NoiseInFp16) {
  expect_same_training(sentence_task() + " --quant-noise-scalar 0.5 --quant-bits 4 --optimizer sgd --momentum 0.9" +
                       " --lr 0.01 --amp fp16 --max-update 3");
}

TEST_F(SimPipeline, ImageClassificationWithRmsProp) {
  expect_same_training(image_task() + " --quant-noise-pq 0.1 --optimizer rmsprop --lr 0.001 --max-update 3");
}

TEST_F(SimPipeline, AResumedRunOnTheDeviceIsTheUninterruptedOne) {
  const std::string flags =
      image_task() + " --optimizer adamw --weight-decay 0.01 --lr 0.002 --save-interval-updates 1";
  train(flags + " --max-update 4", "cpu", "cpu");
  train(flags + " --max-update 2", "sim", "sim");
  train(flags + " --max-update 4", "sim", "sim");  // resumes from update 2's checkpoint
  expect_same_tensors(path("cpu/checkpoint_last.safetensors"), path("sim/checkpoint_last.safetensors"), 0);
}

}  // namespace
}  // namespace qn
