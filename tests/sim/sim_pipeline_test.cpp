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

#include "core/generator.h"
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

  // Each task's data flags (what qn compress and qn eval take too), then its model's.
  static std::string lm_task() {
    return data_->text + " --task language_modeling --tokens-per-sample 32 --batch-size 4";
  }
  static std::string lm_model() { return " --arch transformer_lm_tiny --model-config '{\"cutoffs\": [8, 20]}'"; }
  static std::string mlm_task() { return data_->text + " --task masked_lm --tokens-per-sample 32 --batch-size 4"; }
  static std::string sentence_task() {
    return data_->glue + " --task sentence_prediction --bpe-dir " + data_->bpe + " --batch-size 8";
  }
  static std::string roberta_model() { return " --arch roberta_tiny"; }
  static std::string image_task() { return data_->images + " --task image_classification --batch-size 16"; }
  static std::string image_model() { return " --arch efficientnet_tiny"; }

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

  // Whether two numbers agree within `relative` of the second (and 1e-8 absolute, for values near 0).
  static bool close(double x, double y, double relative) {
    return std::abs(x - y) <= relative * std::abs(y) + 1e-8 || (std::isnan(x) && std::isnan(y));
  }

  // Two runs' log records: the same events and fields, each number within `relative`.
  static void expect_close_logs(const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b,
                                double relative) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      for (const auto& [key, value] : a[i].items()) {
        ASSERT_TRUE(b[i].contains(key)) << key;
        if (value.is_number_float()) {
          EXPECT_TRUE(close(value.get<double>(), b[i][key].get<double>(), relative)) << key << ": " << a[i] << b[i];
        } else {
          EXPECT_EQ(value, b[i][key]) << key;
        }
      }
    }
  }

  // What a difference is measured against: each tensor's largest magnitude, or the whole file's (for quantities
  // that are sums with cancellation, such as BatchNorm's biases and running means, whose own scale is their
  // rounding).
  enum class Scale { kTensor, kFile };

  // The tensors of a saved file; the two files must hold the same names, shapes and dtypes, the same integers, and
  // floats within `relative` of the scale (0: the same bits).
  static void expect_same_tensors(const std::string& a_path, const std::string& b_path, double relative,
                                  Scale against = Scale::kTensor) {
    const SafetensorsContent a = load_safetensors(a_path), b = load_safetensors(b_path);
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    const auto largest = [](const Tensor& t) { return is_floating(t.dtype()) && t.numel() > 0 ? max_abs(t) : 0.0; };
    double file_scale = 0;
    for (const NamedTensor& t : b.tensors) file_scale = std::max(file_scale, largest(t.tensor));
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
      const double scale = against == Scale::kFile ? file_scale : largest(y);
      const Tensor xf = x.to(DType::f64), yf = y.to(DType::f64);
      int64_t far = 0;
      for (int64_t k = 0; k < xf.numel(); ++k) {
        far += std::abs(xf.data_ptr<double>()[k] - yf.data_ptr<double>()[k]) <= relative * scale ? 0 : 1;
      }
      EXPECT_EQ(far, 0) << "values beyond " << relative << " of " << scale;
    }
  }

  // The largest |value| of a CPU tensor, read directly.
  static double max_abs(const Tensor& t) {
    const Tensor f = t.to(DType::f64).contiguous();
    double m = 0;
    for (int64_t k = 0; k < f.numel(); ++k) m = std::max(m, std::abs(f.data_ptr<double>()[k]));
    return m;
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

  // iPQ on both devices: `qn train` through every stage from scratch, then `qn compress` of the float checkpoint
  // with fine-tuning, `qn eval` and `qn forward` of the compressed file. k-means assigns with the GPU's algorithm on
  // the device, so the two agree within 1e-5 relative rather than bit for bit.
  void expect_same_ipq(const std::string& task, const std::string& model, const std::string& stages,
                       const std::string& inputs) {
    const std::string config = path("stages.yaml");
    std::ofstream(config) << stages;
    const std::string ipq = " --quantization-config-path " + config;
    for (const char* device : {"cpu", "sim"}) {
      train(task + model + ipq + " --max-update 6 --optimizer adam --lr 0.001", device, std::string("ipq_") + device);
      train(task + model + " --max-update 2 --optimizer adam --lr 0.001", device, std::string("float_") + device);
    }
    expect_same_tensors(path("ipq_cpu/checkpoint_last.safetensors"), path("ipq_sim/checkpoint_last.safetensors"), 1e-5);
    std::map<std::string, nlohmann::json> evaluated;
    for (const char* device : {"cpu", "sim"}) {
      const std::string out = path(std::string("compressed_") + device + ".safetensors");
      ASSERT_EQ(qn("compress " + path(std::string("float_") + device + "/checkpoint_last.safetensors") + " " + task +
                   ipq + " --max-update 3 --lr 0.001 --no-progress-bar --seed 3 --device " + device + " --out " + out),
                0)
          << device << ": " << stderr_;
      // The CPU's compressed file, evaluated and run on each device.
      const std::string file = path("compressed_cpu.safetensors");
      ASSERT_EQ(qn("eval " + task + " --path " + file + " --json --device " + device), 0) << stderr_;
      evaluated[device] = nlohmann::json::parse(stdout_).at(0).at("metrics");
      ASSERT_EQ(qn("forward --path " + file + " --inputs " + inputs + " --device " + device + " --out " +
                   path(std::string("logits_") + device + ".safetensors")),
                0)
          << device << ": " << stderr_;
    }
    expect_same_tensors(path("compressed_cpu.safetensors"), path("compressed_sim.safetensors"), 1e-5);
    for (const auto& [name, value] : evaluated["cpu"].items()) {
      EXPECT_NEAR(value.get<double>(), evaluated["sim"].at(name).get<double>(), 1e-5 * std::abs(value.get<double>()))
          << name;
    }
    expect_same_tensors(path("logits_cpu.safetensors"), path("logits_sim.safetensors"), 0);
  }

  // An inputs file for `qn forward`: token ids (N, T) below vocabulary, or images (N, 1, 28, 28).
  std::string token_inputs(int64_t vocabulary) {
    Generator gen(5);
    const std::string file = path("tokens.safetensors");
    save_safetensors(file, {{"input_ids", randint(4, vocabulary, {2, 16}, DType::i64, &gen)}});
    return file;
  }
  std::string image_inputs() {
    Generator gen(5);
    const std::string file = path("images.safetensors");
    save_safetensors(file, {{"images", rand({2, 1, 28, 28}, DType::f32, &gen)}});
    return file;
  }

  static fs::path root_;
  static testing::TinyData* data_;
};

fs::path SimPipeline::root_;
testing::TinyData* SimPipeline::data_ = nullptr;

TEST_F(SimPipeline, LanguageModelWithProxyNoiseAccumulationAndClipping) {
  expect_same_training(lm_task() + lm_model() +
                       " --quant-noise-pq 0.1 --quant-noise-pq-block-size 4 --optimizer adam --lr 0.003" +
                       " --update-freq 2 --clip-norm 0.1 --max-update 4");
}

TEST_F(SimPipeline, MaskedLmWithInt8NoiseInBf16) {
  expect_same_training(mlm_task() + roberta_model() +
                       " --quant-noise-scalar 0.5 --quant-bits 8 --optimizer nag --lr 0.01" +
                       " --amp bf16 --max-update 3");
}

TEST_F(SimPipeline, SentencePredictionWithInt4NoiseInFp16) {
  expect_same_training(sentence_task() + roberta_model() +
                       " --quant-noise-scalar 0.5 --quant-bits 4 --optimizer sgd --momentum 0.9" +
                       " --lr 0.01 --amp fp16 --max-update 3");
}

TEST_F(SimPipeline, ImageClassificationWithRmsProp) {
  expect_same_training(image_task() + image_model() +
                       " --quant-noise-pq 0.1 --optimizer rmsprop --lr 0.001 --max-update 3");
}

TEST_F(SimPipeline, ARunKilledOnTheDeviceResumesToTheUninterruptedOne) {
  const std::string flags =
      image_task() + image_model() + " --optimizer adamw --weight-decay 0.01 --lr 0.002 --save-interval-updates 1";
  train(flags + " --max-update 4", "cpu", "cpu");
  // SIGKILL inside its third checkpoint write (core/atomic_file.cpp's fault injection), then run again: it resumes
  // from the second checkpoint.
  setenv("QN_FAULT_KILL_IN_WRITE", "3", 1);
  const int killed = qn("train " + flags + " --max-update 4 --device sim --save-dir " + path("sim") +
                        " --log-interval 1 --no-progress-bar --seed 3");
  unsetenv("QN_FAULT_KILL_IN_WRITE");
  ASSERT_NE(killed, 0) << stderr_;
  train(flags + " --max-update 4", "sim", "sim");
  EXPECT_NE(stderr_.find("resumed from"), std::string::npos) << stderr_;
  expect_same_tensors(path("cpu/checkpoint_last.safetensors"), path("sim/checkpoint_last.safetensors"), 0);
}

// Stages for the tiny models: 4 centroids of blocks of 4. So few that no cluster empties: k-means refills an empty
// cluster by splitting the largest into two centroids 1e-6 apart, and which of the two a block then joins is decided
// by rounding, which the device's GEMM scores and the CPU's fused ones do differently (as cuBLAS's would).
std::string stages(const std::string& layers) {
  return "n_centroids: {Linear: {key: in_features, value: {'*': 4}}, Conv2d: {key: in_channels, value: {'*': 4}},\n"
         "              Embedding: {key: embedding_dim, value: {'*': 4}}}\n"
         "block_sizes: {Linear: {key: in_features, value: {'*': 4}}, Conv2d: {key: in_channels, value: {'*': 4}},\n"
         "              Embedding: {key: embedding_dim, value: {'*': 4}}}\n"
         "clamp_centroids: true\n"
         "fit_block_size: true\n"
         "layers_to_quantize:\n" +
         layers;
}

TEST_F(SimPipeline, IpqOfTheLanguageModel) {
  expect_same_ipq(lm_task(), lm_model(),
                  stages("  - 'decoder\\.layers\\.\\d+\\.fc[12]'\n"
                         "  - 'decoder\\.embed_tokens\\.embeddings\\.[01]\\.0'\n"
                         "  - 'decoder\\.layers\\.\\d+\\.self_attn\\.(k_proj|v_proj|q_proj|out_proj)'\n"),
                  token_inputs(8));
}

TEST_F(SimPipeline, IpqOfRoberta) {
  expect_same_ipq(mlm_task(), roberta_model(),
                  stages("  - 'roberta\\.encoder\\.layer\\.\\d+\\.(intermediate|output)\\.dense'\n"
                         "  - 'roberta\\.embeddings\\.word_embeddings'\n"
                         "  - 'roberta\\.encoder\\.layer\\.\\d+\\.attention\\.self\\.(query|key|value)'\n"),
                  token_inputs(8));
}

TEST_F(SimPipeline, IpqOfEfficientNet) {
  expect_same_ipq(image_task(), image_model(),
                  stages("  - 'features\\.[1-4]\\.\\d+\\.block\\.\\d+\\.(0|fc1|fc2)$'\n"
                         "  - 'features\\.[5-7]\\.\\d+\\.block\\.\\d+\\.(0|fc1|fc2)$'\n"
                         "  - 'features\\.8\\.0$|classifier\\.1$'\n"),
                  image_inputs());
}

#ifdef QN_MPIEXEC
// Two ranks under MPI, each on its own simulated device, BatchNorm synchronized, through an iPQ stage switch (rank
// 0's centroids and codes broadcast to the other): the run the same as on two CPU ranks. The MPI reducer moves
// the gradients in the parameters' device memory.
TEST_F(SimPipeline, TwoRanksEachOnItsDeviceThroughAnIpqStage) {
  const std::string config = path("stages.yaml");
  std::ofstream(config) << stages(
      "  - 'features\\.[1-4]\\.\\d+\\.block\\.\\d+\\.(0|fc1|fc2)$'\n"
      "  - 'features\\.8\\.0$|classifier\\.1$'\n");
  const std::string launch =
      std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 ") + QN_MPIEXEC +
      " -np 2 --oversubscribe ";
  for (const char* device : {"cpu", "sim"}) {
    const std::string command = "train " + image_task() + image_model() + " --sync-bn --quantization-config-path " +
                                config + " --max-update 4 --optimizer sgd --momentum 0.9 --lr 0.01 --device " + device +
                                " --save-dir " + path(device) + " --log-interval 1 --no-progress-bar --seed 3";
    const std::string shell = launch + QN_BINARY + " " + command + " >" + path("stdout") + " 2>" + path("stderr");
    ASSERT_EQ(std::system(shell.c_str()), 0) << device << ": " << read_text(path("stderr"));
  }
  // Synchronized BatchNorm takes the GPU's path on the device (the centered values in f32, their per-channel sums
  // crossing to the host) and the CPU's fused kernel on the CPU: their statistics differ in the f32 rounding, which
  // 20 BatchNorms and four updates carry to 1e-5 of the losses and gradients. Within 1e-4 then, and against the
  // file's scale: BatchNorm's biases and running means are sums with cancellation, whose own scale is their
  // rounding. An algorithm that differed in more than rounding would miss by far.
  expect_close_logs(log_of("cpu"), log_of("sim"), 1e-4);
  expect_same_tensors(path("cpu/checkpoint_last.safetensors"), path("sim/checkpoint_last.safetensors"), 1e-4,
                      Scale::kFile);
  int64_t quantized = 0;  // both stages ran: the classifier (stage 2) is product-quantized
  for (const NamedTensor& t : load_safetensors(path("sim/checkpoint_last.safetensors")).tensors) {
    quantized += t.name == "model.classifier.1.centroids";
  }
  EXPECT_EQ(quantized, 1);
}
#else
TEST_F(SimPipeline, TwoRanksEachOnItsDeviceThroughAnIpqStage) { GTEST_SKIP() << "this build has no MPI"; }
#endif

}  // namespace
}  // namespace qn
