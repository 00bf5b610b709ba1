// Product-quantized layers (docs/METHOD.md, product quantization), pq noise and activation quantization.
// References are naive loops over the codebook: the decoded weight is rebuilt entry by entry from the
// layout rule (block (r, j) at j * rows + r), independently of to_blocks/from_blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "tests/reference.h"

namespace qn::nn {
namespace {

using testing::at;

// W_hat[r, j bs + e] = centroids[assignments[j rows + r], e], as (rows, row_size) doubles.
std::vector<std::vector<double>> naive_decode(const Tensor& centroids, const Tensor& assignments, int64_t rows,
                                              int64_t row_size) {
  const int64_t bs = centroids.size(1);
  std::vector<std::vector<double>> w(static_cast<size_t>(rows), std::vector<double>(static_cast<size_t>(row_size)));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < row_size / bs; ++j) {
      const auto code = static_cast<int64_t>(at(assignments, {j * rows + r}));
      for (int64_t e = 0; e < bs; ++e) w[r][j * bs + e] = at(centroids, {code, e});
    }
  }
  return w;
}

PqOptions pq_options(int64_t block_size, int64_t k, bool mean, Generator* gen) {
  PqOptions o;
  o.block_size = block_size;
  o.kmeans.n_centroids = k;
  o.kmeans.n_iter = 10;
  o.kmeans.generator = gen;
  o.mean_gradient = mean;
  return o;
}

// Oracle 24 (Linear): y = x W_hat^T + b with W_hat from the codebook, within 1e-5.
TEST(PqLayer, LinearForwardUsesTheDecodedWeight) {
  Generator gen(24);
  Linear layer(LinearOptions(16, 6));
  const quant::PqCodebook book = layer.quantize(pq_options(4, 5, true, &gen));
  EXPECT_FALSE(layer.weight.defined());
  const auto w = naive_decode(layer.pq().centroids, layer.pq().assignments, 6, 16);
  const Tensor x = testing::random({3, 16}, DType::f32, 7);
  const Tensor y = layer(x);
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t o = 0; o < 6; ++o) {
      double expected = at(layer.bias, {o});
      for (int64_t i = 0; i < 16; ++i) expected += at(x, {n, i}) * w[o][i];
      EXPECT_NEAR(at(y, {n, o}), expected, 1e-5);
    }
  }
  // The codebook handed back is the one installed.
  EXPECT_EQ(at(book.centroids, {2, 1}), at(layer.pq().centroids, {2, 1}));
}

// Oracle 24 (Conv2d 3x3, padding 1): the same as a float conv carrying W_hat.
TEST(PqLayer, ConvForwardEqualsAConvWithTheDecodedWeight) {
  Generator gen(25);
  Conv2d pq_conv(Conv2dOptions(4, 6, 3).padding(1));
  Conv2d plain(Conv2dOptions(4, 6, 3).padding(1));
  pq_conv.quantize(pq_options(9, 8, true, &gen));
  const auto w = naive_decode(pq_conv.pq().centroids, pq_conv.pq().assignments, 6, 36);
  {
    NoGradGuard no_grad;
    for (int64_t o = 0; o < 6; ++o) {
      for (int64_t k = 0; k < 36; ++k) plain.weight.view({6, 36}).select(0, o).select(0, k).fill_(w[o][k]);
      // (the view shares the parameter's storage)
    }
    plain.bias.copy_(pq_conv.bias);
  }
  const Tensor x = testing::random({2, 4, 5, 5}, DType::f32, 8);
  const Tensor expected = plain(x);
  testing::expect_all_close(
      pq_conv(x), {2, 6, 5, 5}, [&](const testing::Index& i) { return at(expected, i); }, 1e-5, 1e-5);
}

// Oracle 24 (Embedding): the table is W_hat; the padding row is quantized like any other.
TEST(PqLayer, EmbeddingTableIsTheDecodedWeight) {
  Generator gen(26);
  Embedding table(EmbeddingOptions(10, 8).padding_idx(0));
  table.quantize(pq_options(4, 6, false, &gen));
  const auto w = naive_decode(table.pq().centroids, table.pq().assignments, 10, 8);
  const Tensor weight = table.effective_weight();
  for (int64_t r = 0; r < 10; ++r) {
    for (int64_t c = 0; c < 8; ++c) EXPECT_EQ(at(weight, {r, c}), w[r][c]);
  }
  const Tensor rows = table(full({2}, 0.0, DType::i64));
  for (int64_t c = 0; c < 8; ++c) EXPECT_EQ(at(rows, {1, c}), w[0][c]);
}

// dL/dc_k = sum over the blocks assigned to k of dL/dW_hat on that block, divided by count_k with mean.
// dW is (rows, row_size) doubles.
std::vector<std::vector<double>> expected_centroid_grad(const std::vector<std::vector<double>>& dw,
                                                        const Tensor& assignments, int64_t k, int64_t bs, bool mean) {
  const auto rows = static_cast<int64_t>(dw.size());
  const auto row_size = static_cast<int64_t>(dw[0].size());
  std::vector<std::vector<double>> grad(static_cast<size_t>(k), std::vector<double>(static_cast<size_t>(bs), 0.0));
  std::vector<double> count(static_cast<size_t>(k), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < row_size / bs; ++j) {
      const auto code = static_cast<size_t>(at(assignments, {j * rows + r}));
      count[code] += 1;
      for (int64_t e = 0; e < bs; ++e) grad[code][e] += dw[r][j * bs + e];
    }
  }
  if (mean) {
    for (size_t c = 0; c < grad.size(); ++c) {
      for (double& g : grad[c]) g /= std::max(count[c], 1.0);
    }
  }
  return grad;
}

void expect_grad(const Tensor& actual, const std::vector<std::vector<double>>& expected) {
  ASSERT_TRUE(actual.defined());
  for (size_t c = 0; c < expected.size(); ++c) {
    for (size_t e = 0; e < expected[c].size(); ++e) {
      EXPECT_NEAR(at(actual, {static_cast<int64_t>(c), static_cast<int64_t>(e)}), expected[c][e],
                  1e-5 * (1 + std::abs(expected[c][e])));
    }
  }
}

// Oracle 25 (Linear), sum and mean: loss = sum(y * g), so dW_hat = g^T x.
void check_linear_centroid_grad(bool mean) {
  Generator gen(27);
  Linear layer(LinearOptions(8, 6));
  layer.quantize(pq_options(2, 4, mean, &gen));
  const Tensor x = testing::random({5, 8}, DType::f32, 9);
  const Tensor g = testing::random({5, 6}, DType::f32, 10);
  sum(mul(layer(x), g)).backward();
  std::vector<std::vector<double>> dw(6, std::vector<double>(8, 0.0));
  for (int64_t o = 0; o < 6; ++o) {
    for (int64_t i = 0; i < 8; ++i) {
      for (int64_t n = 0; n < 5; ++n) dw[o][i] += at(g, {n, o}) * at(x, {n, i});
    }
  }
  expect_grad(layer.pq().centroids.grad(), expected_centroid_grad(dw, layer.pq().assignments, 4, 2, mean));
}

TEST(PqLayer, LinearCentroidGradientIsTheSumOfItsBlocks) { check_linear_centroid_grad(false); }
TEST(PqLayer, LinearCentroidGradientIsTheMeanOfItsBlocks) { check_linear_centroid_grad(true); }

// Oracle 25 (Embedding, sum): rows looked up twice count twice.
TEST(PqLayer, EmbeddingCentroidGradientIsTheSumOfItsBlocks) {
  Generator gen(28);
  Embedding table(EmbeddingOptions(6, 4));
  table.quantize(pq_options(2, 3, false, &gen));
  const Tensor ids = from_vector<int64_t>({1, 3, 1, 5});
  const Tensor g = testing::random({4, 4}, DType::f32, 11);
  sum(mul(table(ids), g)).backward();
  std::vector<std::vector<double>> dw(6, std::vector<double>(4, 0.0));
  const int64_t id[] = {1, 3, 1, 5};
  for (int64_t n = 0; n < 4; ++n) {
    for (int64_t c = 0; c < 4; ++c) dw[id[n]][c] += at(g, {n, c});
  }
  expect_grad(table.pq().centroids.grad(), expected_centroid_grad(dw, table.pq().assignments, 3, 2, false));
}

// Oracle 25 (Conv2d, mean): dW_hat from the float conv's own gradient at W_hat.
TEST(PqLayer, ConvCentroidGradientIsTheMeanOfItsBlocks) {
  Generator gen(29);
  Conv2d conv(Conv2dOptions(2, 3, 3).padding(1));
  conv.quantize(pq_options(3, 4, true, &gen));
  const Tensor x = testing::random({2, 2, 4, 4}, DType::f32, 12);
  const Tensor g = testing::random({2, 3, 4, 4}, DType::f32, 13);
  sum(mul(conv(x), g)).backward();

  Tensor dense = conv.effective_weight().detach().clone();
  dense.set_requires_grad(true);
  sum(mul(conv2d(x, dense, conv.bias.detach(), conv.params_for(4, 4)), g)).backward();
  std::vector<std::vector<double>> dw(3, std::vector<double>(18, 0.0));
  const Tensor flat = dense.grad().reshape({3, 18});
  for (int64_t o = 0; o < 3; ++o) {
    for (int64_t k = 0; k < 18; ++k) dw[o][k] = at(flat, {o, k});
  }
  expect_grad(conv.pq().centroids.grad(), expected_centroid_grad(dw, conv.pq().assignments, 4, 3, true));
}

TEST(PqLayer, ParametersAndStateFollowFairseqNames) {
  Generator gen(30);
  Linear layer(LinearOptions(8, 4));
  layer.quantize(pq_options(4, 3, true, &gen));
  std::vector<std::string> params;
  for (const NamedTensor& p : layer.named_parameters()) params.push_back(p.name);
  EXPECT_EQ(params, (std::vector<std::string>{"bias", "centroids"}));
  std::vector<std::string> state;
  for (const NamedTensor& t : layer.state_dict()) state.push_back(t.name);
  EXPECT_EQ(state, (std::vector<std::string>{"bias", "centroids", "assignments", "counts"}));
  // counts is the bincount of the assignments with K entries.
  int64_t total = 0;
  for (int64_t k = 0; k < 3; ++k) total += static_cast<int64_t>(at(layer.pq().counts, {k}));
  EXPECT_EQ(total, 8);
  EXPECT_EQ(layer.pq().counts.shape(), Shape({3}));
}

TEST(PqLayer, StateLoadsIntoALayerGivenThePqShapes) {
  Generator gen(31);
  Linear trained(LinearOptions(8, 4));
  trained.quantize(pq_options(4, 3, true, &gen));
  Linear restored(LinearOptions(8, 4));
  restored.make_product_quantized(4, 3);
  restored.load_state_dict(trained.state_dict());
  const Tensor x = testing::random({2, 8}, DType::f32, 14);
  const Tensor a = trained(x);
  const Tensor b = restored(x);
  for (const auto& i : testing::all_indices(a.shape())) EXPECT_EQ(at(a, i), at(b, i));
}

TEST(PqLayer, RejectsBadGeometryAndTooManyCentroids) {
  Generator gen(32);
  Linear layer(LinearOptions(12, 4));
  EXPECT_THROW(layer.quantize(pq_options(8, 2, true, &gen)), Error);   // 12 % 8
  EXPECT_THROW(layer.quantize(pq_options(4, 13, true, &gen)), Error);  // 12 blocks
  Conv2d conv(Conv2dOptions(2, 2, 3));
  EXPECT_THROW(conv.quantize(pq_options(4, 2, true, &gen)), Error);  // 4 on a 3x3 kernel
  layer.quantize(pq_options(4, 2, true, &gen));
  EXPECT_THROW(layer.quantize(pq_options(4, 2, true, &gen)), Error);  // twice
}

// pq noise at p = 1 is the whole decoded codebook; at p = 0.5 each block is either itself or its centroid;
// in eval the weight is used as is; the gradient reaches every entry.
TEST(PqNoise, BlocksAreReplacedByTheirCentroids) {
  Generator gen(33);
  quant::QuantNoise all;
  all.mode = quant::NoiseMode::kPq;
  all.p = 1.0;
  all.block_size = 4;
  all.pq_centroids = 4;
  all.generator = &gen;
  Linear layer(LinearOptions(8, 6).quant_noise(all));
  const Tensor noised = layer.effective_weight();
  const quant::PqCodebook& book = *layer.noise()->pq_codebook();
  const auto w = naive_decode(book.centroids, book.assignments, 6, 8);
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t c = 0; c < 8; ++c) EXPECT_EQ(at(noised, {r, c}), w[r][c]);
  }
  sum(noised).backward();
  for (const auto& i : testing::all_indices(layer.weight.shape())) EXPECT_EQ(at(layer.weight.grad(), i), 1.0);
  layer.eval();
  const Tensor plain = layer.effective_weight();
  for (const auto& i : testing::all_indices(plain.shape())) EXPECT_EQ(at(plain, i), at(layer.weight, i));

  quant::QuantNoise half = all;
  half.p = 0.5;
  Linear mixed(LinearOptions(16, 8).quant_noise(half));
  const Tensor m = mixed.effective_weight();
  const quant::PqCodebook& mixed_book = *mixed.noise()->pq_codebook();
  const auto decoded = naive_decode(mixed_book.centroids, mixed_book.assignments, 8, 16);
  int64_t replaced = 0;
  for (int64_t r = 0; r < 8; ++r) {
    for (int64_t j = 0; j < 4; ++j) {
      bool same = true;
      bool centroid = true;
      for (int64_t e = 0; e < 4; ++e) {
        same = same && at(m, {r, 4 * j + e}) == at(mixed.weight, {r, 4 * j + e});
        centroid = centroid && at(m, {r, 4 * j + e}) == decoded[r][4 * j + e];
      }
      EXPECT_TRUE(same || centroid) << "block (" << r << ", " << j << ") is neither itself nor its centroid";
      replaced += centroid && !same;
    }
  }
  EXPECT_GT(replaced, 4);
  EXPECT_LT(replaced, 28);
}

TEST(PqNoise, CodebookIsRecomputedEveryUpdateStep) {
  Generator gen(34);
  quant::QuantNoise noise;
  noise.mode = quant::NoiseMode::kPq;
  noise.p = 0.5;
  noise.block_size = 4;
  noise.pq_centroids = 2;
  noise.update_step = 3;
  noise.generator = &gen;
  Linear layer(LinearOptions(8, 4).quant_noise(noise));
  layer.effective_weight();
  const Tensor first = layer.noise()->pq_codebook()->centroids;
  {
    NoGradGuard no_grad;
    layer.weight.copy_(mul(layer.weight.detach(), 3.0));
  }
  layer.effective_weight();
  layer.effective_weight();
  EXPECT_EQ(at(layer.noise()->pq_codebook()->centroids, {0, 0}), at(first, {0, 0}));
  layer.effective_weight();  // forward 3: recomputed on the tripled weight
  EXPECT_NE(at(layer.noise()->pq_codebook()->centroids, {0, 0}), at(first, {0, 0}));
}

// Activation quantization: training (p = 0) clamps to the range and leaves the rest alone; eval quantizes
// every element; outside the range the gradient is blocked.
TEST(ActivationQuant, ClampsInTrainingAndQuantizesInEval) {
  quant::ActivationQuantizerOptions o;
  o.observer = quant::Observer::kMinMax;
  o.update_step = 1000;
  quant::ActivationQuantizer act(o);
  const Tensor calibrate = from_vector<float>({-1.0f, 0.3f, 2.0f, 0.7f});
  const Tensor trained = act(calibrate);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(at(trained, {i}), at(calibrate, {i}));  // inside: unchanged
  const QParams q = act.quantizer().qparams();
  Tensor x = from_vector<float>({-3.0f, 0.3f, 5.0f, 0.71f});
  x.set_requires_grad(true);
  const Tensor clamped = act(x);
  EXPECT_FLOAT_EQ(static_cast<float>(at(clamped, {0})), q.low(0));
  EXPECT_FLOAT_EQ(static_cast<float>(at(clamped, {2})), q.high(0));
  EXPECT_EQ(at(clamped, {3}), at(x, {3}));
  sum(clamped).backward();
  EXPECT_EQ(at(x.grad(), {0}), 0.0);
  EXPECT_EQ(at(x.grad(), {1}), 1.0);
  EXPECT_EQ(at(x.grad(), {2}), 0.0);

  act.eval();
  const Tensor quantized = act(x.detach());
  for (int64_t i = 0; i < 4; ++i) {
    const double level = at(quantized, {i}) / q.scale[0] + q.zero_point[0];
    EXPECT_NEAR(level, std::round(level), 1e-3) << "element " << i << " is not on the grid";
  }
  EXPECT_THROW(quant::ActivationQuantizer({8, quant::Observer::kPerChannel}), Error);
}

TEST(ActivationQuant, LayerOutputIsQuantizedWhenAsked) {
  Generator gen(35);
  quant::QuantNoise noise;
  noise.mode = quant::NoiseMode::kInt8;
  noise.observer = quant::Observer::kMinMax;
  noise.quantize_output = true;
  noise.generator = &gen;
  Linear layer(LinearOptions(8, 5).quant_noise(noise));
  layer.eval();
  const Tensor y = layer(testing::random({3, 8}, DType::f32, 15));
  const QParams q = layer.output_quantizer()->quantizer().qparams();
  for (const auto& i : testing::all_indices(y.shape())) {
    const double level = at(y, i) / q.scale[0] + q.zero_point[0];
    EXPECT_NEAR(level, std::round(level), 1e-3);
  }
  quant::QuantNoise proxy;
  proxy.p = 0.1;
  proxy.quantize_output = true;
  EXPECT_THROW(Linear(LinearOptions(8, 5).quant_noise(proxy)), Error);
}

}  // namespace
}  // namespace qn::nn
