// iPQ: the YAML config, stage selection and schedule on the Wikitext-103 LM's layer names (docs/METHOD.md, iPQ),
// the optimizer reset at a stage switch, and a run that resumes inside iPQ.
#include "train/ipq.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "autograd/ops.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "nn/container.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "tests/reference.h"
#include "train/adam.h"
#include "train/distillation.h"

namespace qn::train {
namespace {

namespace fs = std::filesystem;
using nn::quant::IpqConfig;
using testing::at;

// A module tree with arbitrary names.
struct Tree : nn::Module {
  Tree() : Module("Tree") {}
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> module) {
    return register_module(name, std::move(module));
  }
};

// The Wikitext-103 LM's module names (fairseq's transformer_lm_wiki103: 16 layers, adaptive input with three
// bands), on tiny dimensions: only the names, types and divisibility matter here.
std::shared_ptr<Tree> lm_with_fairseq_names(int layers = 16) {
  auto root = std::make_shared<Tree>();
  auto decoder = root->add("decoder", std::make_shared<Tree>());
  auto embed = decoder->add("embed_tokens", std::make_shared<Tree>());
  auto bands = embed->add("embeddings", std::make_shared<Tree>());
  const int64_t dims[] = {16, 8, 8};
  for (int b = 0; b < 3; ++b) {
    auto band = bands->add(std::to_string(b), std::make_shared<Tree>());
    band->add("0", std::make_shared<nn::Embedding>(nn::EmbeddingOptions(32, dims[b])));
    band->add("1", std::make_shared<nn::Linear>(nn::LinearOptions(dims[b], 8).bias(false)));
  }
  auto stack = decoder->add("layers", std::make_shared<Tree>());
  for (int i = 0; i < layers; ++i) {
    auto layer = stack->add(std::to_string(i), std::make_shared<Tree>());
    auto attn = layer->add("self_attn", std::make_shared<Tree>());
    for (const char* proj : {"k_proj", "v_proj", "q_proj", "out_proj"}) {
      attn->add(proj, std::make_shared<nn::Linear>(nn::LinearOptions(8, 8)));
    }
    layer->add("self_attn_layer_norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({8})));
    layer->add("fc1", std::make_shared<nn::Linear>(nn::LinearOptions(8, 16)));
    layer->add("fc2", std::make_shared<nn::Linear>(nn::LinearOptions(16, 8)));
    layer->add("final_layer_norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({8})));
  }
  return root;
}

IpqConfig recipe() {
  return IpqConfig::load(std::string(QN_SOURCE_DIR) + "/tools/recipes/transformer_lm_wiki103_ipq.yaml");
}

// Oracle 28: the schedule, and what each stage selects on the 16-layer LM.
TEST(Ipq, StagesQuantizeAtEvenlySpacedUpdates) {
  EXPECT_EQ(ipq_stage_updates(13500, 3), (std::vector<int64_t>{0, 4500, 9000}));
  EXPECT_QN_ERROR(ipq_stage_updates(13501, 3), "multiple of the number of stages");
  EXPECT_QN_ERROR(ipq_stage_updates(0, 3), "positive multiple");
}

TEST(Ipq, EachStageSelectsItsLayersOfTheLm) {
  const auto lm = lm_with_fairseq_names();
  const IpqConfig config = recipe();
  ASSERT_EQ(config.num_stages(), 3);
  const auto ffn = nn::quant::select_stage(*lm, config, 0);
  const auto embeddings = nn::quant::select_stage(*lm, config, 1);
  const auto attention = nn::quant::select_stage(*lm, config, 2);
  EXPECT_EQ(ffn.size(), 32u);
  EXPECT_EQ(embeddings.size(), 6u);
  EXPECT_EQ(attention.size(), 64u);
  EXPECT_EQ(ffn[0].first, "decoder.layers.0.fc1");
  EXPECT_EQ(embeddings[0].first, "decoder.embed_tokens.embeddings.0.0");
  EXPECT_EQ(embeddings[1].first, "decoder.embed_tokens.embeddings.0.1");
  EXPECT_EQ(attention[3].first, "decoder.layers.0.self_attn.out_proj");
  // No layer is selected twice across stages, and no LayerNorm at all.
  std::set<std::string> seen;
  for (const auto* stage : {&ffn, &embeddings, &attention}) {
    for (const auto& [name, layer] : *stage) EXPECT_TRUE(seen.insert(name).second) << name;
  }
}

TEST(Ipq, BlockSizeAndKFollowNameAndType) {
  const auto lm = lm_with_fairseq_names(1);
  const IpqConfig config = recipe();
  std::map<std::string, nn::PqOptions> by_name;
  for (int64_t s = 0; s < 3; ++s) {
    for (const auto& [name, layer] : nn::quant::select_stage(*lm, config, s))
      by_name[name] = config.options_for(name, *layer);
  }
  EXPECT_EQ(by_name.at("decoder.layers.0.fc1").block_size, 8);
  EXPECT_EQ(by_name.at("decoder.layers.0.self_attn.q_proj").block_size, 4);
  EXPECT_EQ(by_name.at("decoder.embed_tokens.embeddings.1.1").block_size, 4);  // a Linear named "emb..."
  EXPECT_EQ(by_name.at("decoder.embed_tokens.embeddings.1.0").block_size, 8);  // the table
  for (const auto& [name, o] : by_name) EXPECT_EQ(o.kmeans.n_centroids, 256) << name;
  EXPECT_EQ(config.n_iter, 15);
  // A Linear whose name has none of fc / attn / emb, and no "*": an error naming it.
  nn::Linear head(nn::LinearOptions(8, 8));
  EXPECT_QN_ERROR(config.options_for("decoder.output_projection", head), "decoder.output_projection", "no entry fits");
}

// fairseq's shipped example: doubled backslashes in plain scalars stay doubled and match nothing.
// fit_block_size: a block size that does not divide a layer's rows falls to the largest one below it that does
// (in_features 6: 8 -> 6; 10: 8 -> 5; 16: stays 8); without it such a layer is an error.
TEST(Ipq, FitBlockSizeFallsToTheLargestDivisor) {
  const std::string yaml =
      "n_centroids: {Linear: {key: in_features, value: {'*': 4}}}\n"
      "block_sizes: {Linear: {key: in_features, value: {'*': 8}}}\n"
      "layers_to_quantize: ['.*']\n";
  const IpqConfig fitted = IpqConfig::parse(yaml + "fit_block_size: true\n", "fit.yaml");
  for (const auto& [in, expected] :
       std::vector<std::pair<int64_t, int64_t>>{{6, 6}, {10, 5}, {16, 8}, {7, 7}, {11, 1}}) {
    nn::Linear layer(nn::LinearOptions(in, 4));
    EXPECT_EQ(fitted.options_for("fc", layer).block_size, expected) << in;
  }
  nn::Linear six(nn::LinearOptions(6, 4));
  const IpqConfig strict = IpqConfig::parse(yaml, "strict.yaml");
  EXPECT_EQ(strict.options_for("fc", six).block_size, 8);
  EXPECT_QN_ERROR(six.quantize(strict.options_for("fc", six)), "block size 8");
}

TEST(Ipq, DoublyEscapedPatternsSelectNothingAndSaySo) {
  const IpqConfig shipped = IpqConfig::parse(R"(
n_centroids:
    Linear:
        key: in_features
        value: {"*": 256}
block_sizes:
    Linear:
        key: fuzzy_name
        value: {fc: 8}
layers_to_quantize:
    - decoder\\.layers\\.\d+\\.fc[12]
)");
  EXPECT_EQ(shipped.layers_to_quantize[0], R"(decoder\\.layers\\.\d+\\.fc[12])");
  const auto lm = lm_with_fairseq_names(2);
  EXPECT_QN_ERROR(nn::quant::select_stage(*lm, shipped, 0), "stage 0", "selects no layer");
}

TEST(Ipq, ConfigErrorsNameTheProblem) {
  EXPECT_QN_ERROR(IpqConfig::parse("n_centroids: [", "bad.yaml"), "bad.yaml", "not valid YAML");
  EXPECT_QN_ERROR(IpqConfig::parse("layers_to_quantize: ['(']\nn_centroids: {}\nblock_sizes: {}\n", "x.yaml"),
                  "not a valid regular expression");
  EXPECT_QN_ERROR(IpqConfig::parse("n_centroids:\n  Linear: {key: in_features, value: {'*': 0}}\n", "x.yaml"),
                  "must be positive");
  EXPECT_QN_ERROR(IpqConfig::parse("n_centroids:\n  LSTM: {key: x, value: {'*': 8}}\n", "x.yaml"), "LSTM");
  EXPECT_QN_ERROR(IpqConfig::parse("bogus: 1\n", "x.yaml"), "unknown key 'bogus'");
  // A pattern that reaches a LayerNorm.
  const IpqConfig norms = IpqConfig::parse(
      "n_centroids: {Linear: {key: in_features, value: {'*': 4}}}\n"
      "block_sizes: {Linear: {key: fuzzy_name, value: {'*': 4}}}\n"
      "layers_to_quantize: ['decoder\\.layers\\.0\\.final']\n");
  const auto lm = lm_with_fairseq_names(1);
  EXPECT_QN_ERROR(nn::quant::select_stage(*lm, norms, 0), "LayerNorm", "cannot be product-quantized");
}

// Two Linear layers and a LayerNorm; stage 0 quantizes "0", stage 1 quantizes "2".
struct SmallNet {
  explicit SmallNet(uint64_t seed) {
    manual_seed(seed);
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(8, 16)));
    model.push_back(std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({16})));
    model.push_back(std::make_shared<nn::Linear>(nn::LinearOptions(16, 1)));
    optimizer = std::make_unique<Adam>(std::vector<ParamGroup>{{model.parameters(), 1e-2, 0.0}}, AdamOptions{});
  }
  nn::Sequential model;
  std::unique_ptr<Adam> optimizer;
};

IpqConfig two_stages() {
  return IpqConfig::parse(
      "n_centroids: {Linear: {key: in_features, value: {'*': 4}}}\n"
      "block_sizes: {Linear: {key: fuzzy_name, value: {'*': 4}}}\n"
      "layers_to_quantize: ['0$', '2$']\n");
}

bool same_tensor(const Tensor& a, const Tensor& b) { return a.raw_data() == b.raw_data() && a.shape() == b.shape(); }

// Oracle 30.
TEST(Ipq, StageSwitchResetsTheOptimizerToTheRemainingParameters) {
  SmallNet net(3);
  Generator gen(4);
  IpqSchedule ipq(net.model, two_stages(), {.max_updates = 10, .param_groups = {}, .generator = &gen});
  ipq.before_update(0, *net.optimizer);  // stage 0 quantizes before the first update
  ASSERT_EQ(ipq.stages_done(), 1);
  // One update builds Adam moments.
  const Tensor x = testing::random({4, 8}, DType::f32, 5);
  sum(net.model(x)).backward();
  net.optimizer->step();
  EXPECT_GT(net.optimizer->state_dict().size(), 1u);

  for (int64_t u = 1; u < 5; ++u) ipq.before_update(u, *net.optimizer);
  EXPECT_EQ(ipq.stages_done(), 1);
  ipq.before_update(5, *net.optimizer);
  ASSERT_EQ(ipq.stages_done(), 2);

  const auto& first = dynamic_cast<nn::Linear&>(net.model[0]);
  const auto& last = dynamic_cast<nn::Linear&>(net.model[2]);
  const auto& norm = dynamic_cast<nn::LayerNorm&>(net.model[1]);
  std::vector<Tensor> expected = {first.bias, norm.weight,          norm.bias,
                                  last.bias,  first.pq().centroids, last.pq().centroids};
  const std::vector<Tensor>& held = net.optimizer->groups().at(0).params;
  ASSERT_EQ(net.optimizer->groups().size(), 1u);
  ASSERT_EQ(held.size(), expected.size());
  for (const Tensor& e : expected) {
    EXPECT_TRUE(std::any_of(held.begin(), held.end(), [&](const Tensor& h) { return same_tensor(h, e); }));
  }
  EXPECT_FALSE(first.weight.defined());
  EXPECT_FALSE(last.weight.defined());
  // Fresh state: only the step count, at 0.
  const auto state = net.optimizer->state_dict();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].name, "step");
  EXPECT_EQ(state[0].tensor.item<int64_t>(), 0);
  ipq.before_update(10, *net.optimizer);  // nothing at max_updates
  EXPECT_EQ(ipq.stages_done(), 2);
  EXPECT_EQ(ipq.reports().size(), 2u);
  EXPECT_EQ(ipq.reports()[1].update, 5);
  EXPECT_EQ(ipq.reports()[1].layers.at(0).name, "2");
}

// A rank other than 0 (cluster = false) runs no k-means: the stage's layers get the shapes rank 0's would
// have, zero-filled, and the optimizer holds their centroids.
TEST(Ipq, WithoutClusteringTheLayersTakeTheShapesOnly) {
  SmallNet clustered(3), shaped(3);
  Generator gen(4);
  IpqSchedule on(clustered.model, two_stages(), {.max_updates = 10, .param_groups = {}, .generator = &gen});
  IpqSchedule off(shaped.model, two_stages(),
                  {.max_updates = 10, .param_groups = {}, .generator = &gen, .cluster = false});
  on.before_update(0, *clustered.optimizer);
  const uint64_t drawn = gen.offset();
  off.before_update(0, *shaped.optimizer);
  EXPECT_EQ(gen.offset(), drawn);  // nothing drawn: no k-means
  const nn::PqWeight& expected = dynamic_cast<nn::Linear&>(clustered.model[0]).pq();
  const nn::PqWeight& got = dynamic_cast<nn::Linear&>(shaped.model[0]).pq();
  EXPECT_EQ(got.centroids.shape(), expected.centroids.shape());
  EXPECT_EQ(got.assignments.shape(), expected.assignments.shape());
  EXPECT_EQ(got.counts.shape(), expected.counts.shape());
  EXPECT_EQ(kernels::sum(kernels::abs(got.centroids)).item<float>(), 0.0f);
  EXPECT_TRUE(std::isnan(off.reports().at(0).layers.at(0).objective));
  const std::vector<Tensor>& held = shaped.optimizer->groups().at(0).params;
  EXPECT_TRUE(std::any_of(held.begin(), held.end(), [&](const Tensor& h) { return same_tensor(h, got.centroids); }));
}

// Regression batches: a pure function of the batch index.
struct Task : TrainingTask {
  explicit Task(nn::Module& m) : model(m) {
    Generator data(9);
    x = randn({64, 8}, DType::f32, &data);
    y = randn({64, 1}, DType::f32, &data);
  }
  int64_t batches_per_epoch() const override { return 8; }
  MicroBatchLoss train_loss(int64_t index) override {
    return {mse_loss(model(x.narrow(0, index * 8, 8)), y.narrow(0, index * 8, 8)), 8};
  }
  nn::Module& model;
  Tensor x, y;
};

TrainingResult run(SmallNet& net, const fs::path& dir, int64_t max_updates, bool resume, IpqSchedule& ipq,
                   Generator& gen) {
  Task task(net.model);
  TrainerOptions o;
  o.max_epochs = 0;
  o.max_updates = max_updates;
  o.save_dir = dir.string();
  o.resume = resume;
  o.eval_each_epoch = false;
  o.progress = ProgressStyle::kNone;
  o.handle_signals = false;
  Trainer trainer(net.model, *net.optimizer, nullptr, gen, task, {"small", {{"hidden", 16}}, {}}, o);
  trainer.set_hooks(&ipq);
  return trainer.fit();
}

// Stopped at update 7 (stage 1 quantized at 6) and resumed to 12: the same model as one run to 12.
TEST(Ipq, RunResumesInsideIpq) {
  const fs::path whole_dir = fs::temp_directory_path() / ("qn_ipq_whole_" + std::to_string(getpid()));
  const fs::path split_dir = fs::temp_directory_path() / ("qn_ipq_split_" + std::to_string(getpid()));
  fs::remove_all(whole_dir);
  fs::remove_all(split_dir);

  SmallNet whole(11);
  Generator whole_gen(12);
  IpqSchedule whole_ipq(whole.model, two_stages(), {.max_updates = 12, .param_groups = {}, .generator = &whole_gen});
  run(whole, whole_dir, 12, false, whole_ipq, whole_gen);

  {
    SmallNet first(11);
    Generator gen(12);
    IpqSchedule ipq(first.model, two_stages(), {.max_updates = 12, .param_groups = {}, .generator = &gen});
    run(first, split_dir, 7, false, ipq, gen);
    ASSERT_EQ(ipq.stages_done(), 2);
  }
  SmallNet second(99);  // different initial weights: everything must come from the checkpoint
  Generator gen(1);
  IpqSchedule ipq(second.model, two_stages(), {.max_updates = 12, .param_groups = {}, .generator = &gen});
  const TrainingResult resumed = run(second, split_dir, 12, true, ipq, gen);
  EXPECT_EQ(resumed.progress.num_updates, 12);
  EXPECT_EQ(ipq.stages_done(), 2);
  EXPECT_TRUE(ipq.reports().empty());  // nothing was quantized again

  const auto a = whole.model.state_dict();
  const auto b = second.model.state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].name, b[i].name);
    for (const auto& index : testing::all_indices(a[i].tensor.shape())) {
      ASSERT_EQ(at(a[i].tensor, index), at(b[i].tensor, index)) << a[i].name;
    }
  }
  fs::remove_all(whole_dir);
  fs::remove_all(split_dir);
}

// KL(teacher || student) per sample, batch mean, times T^2, against an f64 loop; zero for equal logits.
TEST(Distillation, IsTheBatchMeanKlDivergence) {
  const Tensor student = testing::random({3, 5}, DType::f32, 20);
  const Tensor teacher = testing::random({3, 5}, DType::f32, 21);
  for (const double t : {1.0, 2.0}) {
    double expected = 0;
    for (int64_t b = 0; b < 3; ++b) {
      double zs = 0, zt = 0;
      for (int64_t c = 0; c < 5; ++c) {
        zs += std::exp(at(student, {b, c}) / t);
        zt += std::exp(at(teacher, {b, c}) / t);
      }
      for (int64_t c = 0; c < 5; ++c) {
        const double pt = std::exp(at(teacher, {b, c}) / t) / zt;
        const double ps = std::exp(at(student, {b, c}) / t) / zs;
        expected += pt * std::log(pt / ps);
      }
    }
    expected *= t * t / 3;
    EXPECT_NEAR(distillation_loss(student, teacher, t).item<double>(), expected, 1e-5);
  }
  EXPECT_NEAR(distillation_loss(teacher, teacher).item<double>(), 0.0, 1e-6);
  EXPECT_QN_ERROR(distillation_loss(student, teacher.narrow(0, 0, 2)), "one shape");
}

}  // namespace
}  // namespace qn::train
