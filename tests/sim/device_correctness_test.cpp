// Code above the kernels that must keep every tensor on its model's device, run on the simulated device against
// the CPU: each of these once mixed a CPU tensor into a device computation (or read device memory on the host),
// which a GPU run would have met first.
#include <gtest/gtest.h>

#include <cstring>

#include "autograd/ops.h"
#include "core/allocator.h"
#include "core/device_reads.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/reduce.h"
#include "models/roberta.h"
#include "nn/linear.h"
#include "nn/quant/quant_noise.h"
#include "tests/reference.h"

namespace qn {
namespace {

const Device kSim = Device::sim(0);

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor x = a.to(Device::cpu()).contiguous(), y = b.to(Device::cpu()).contiguous();
  return x.shape() == y.shape() && x.dtype() == y.dtype() && std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0;
}

double max_difference(const Tensor& a, const Tensor& b) {
  return kernels::amax(
             kernels::abs(kernels::sub(a.to(Device::cpu()).to(DType::f64), b.to(Device::cpu()).to(DType::f64))))
      .item<double>();
}

TEST(OnTheDevice, AnOpMixingDevicesFailsNamingIt) {
  const Tensor on_sim = ones({3}, TensorOptions(DType::f32, kSim));
  EXPECT_QN_ERROR(kernels::add(on_sim, ones({3})), "add", "one device", "sim:0", "cpu");
  EXPECT_QN_ERROR(kernels::matmul(on_sim.view({1, 3}), ones({3, 1})), "matmul", "sim:0", "cpu");
  EXPECT_QN_ERROR(kernels::add(on_sim, ones({3}, TensorOptions(DType::f32, Device::sim(1)))), "add", "sim:1");
}

// The divisor of a mean was a CPU scalar: every mean over a device tensor failed (pooling, LayerNorm's backward).
TEST(OnTheDevice, MeansAndVariancesStayThere) {
  const Tensor x = testing::random({4, 6}, DType::f32, 2);
  EXPECT_TRUE(same_bits(kernels::mean(x.to(kSim), {1}), kernels::mean(x, {1})));
  EXPECT_TRUE(same_bits(kernels::var(x.to(kSim), {0}, 1), kernels::var(x, {0}, 1)));
  EXPECT_EQ(kernels::mean(x.to(kSim)).device(), kSim);
}

// k-means drew its first centroids' rows and its repair noise on the CPU, and returned CPU counts that met the
// device's centroids in the mean centroid gradient.
TEST(OnTheDevice, ProductQuantizationRunsThereAsOnTheCpu) {
  manual_seed(4);
  nn::Linear cpu_layer(nn::LinearOptions(16, 12));
  nn::Linear sim_layer(nn::LinearOptions(16, 12));
  sim_layer.weight.set_data(cpu_layer.weight.detach().clone());
  sim_layer.bias.set_data(cpu_layer.bias.detach().clone());
  sim_layer.to(kSim);
  nn::PqOptions options;
  options.block_size = 4;
  options.kmeans.n_centroids = 6;
  options.kmeans.n_iter = 5;
  Generator a(9), b(9);
  options.kmeans.generator = &a;
  cpu_layer.quantize(options);
  options.kmeans.generator = &b;
  sim_layer.quantize(options);
  for (const NamedTensor& t : sim_layer.named_buffers()) EXPECT_EQ(t.tensor.device(), kSim) << t.name;
  EXPECT_EQ(sim_layer.pq().centroids.device(), kSim);
  EXPECT_TRUE(same_bits(sim_layer.pq().assignments, cpu_layer.pq().assignments));
  EXPECT_TRUE(same_bits(sim_layer.pq().counts, cpu_layer.pq().counts));
  EXPECT_LE(max_difference(sim_layer.pq().centroids, cpu_layer.pq().centroids), 1e-6);

  // Forward and backward through the centroids (the mean gradient divides by the counts).
  const Tensor x = testing::random({5, 16}, DType::f32, 8);
  sum(cpu_layer.forward(x)).backward();
  sum(sim_layer.forward(x.to(kSim))).backward();
  EXPECT_LE(max_difference(sim_layer.pq().centroids.grad(), cpu_layer.pq().centroids.grad()), 1e-5);
}

// Exact PQ noise (the noise that replaces blocks by their centroids, refreshed by k-means on the layer's device):
// three training forwards and backwards on the device as on the CPU.
TEST(OnTheDevice, ExactPqNoiseTrainsThereAsOnTheCpu) {
  Generator cpu_noise(7), sim_noise(7);
  nn::quant::QuantNoise noise;
  noise.p = 0.5;
  noise.block_size = 4;
  noise.mode = nn::quant::NoiseMode::kPq;
  noise.pq_centroids = 4;
  noise.update_step = 2;  // a refresh inside the run
  manual_seed(5);
  noise.generator = &cpu_noise;
  nn::Linear cpu_layer(nn::LinearOptions(16, 8).quant_noise(noise));
  noise.generator = &sim_noise;
  nn::Linear sim_layer(nn::LinearOptions(16, 8).quant_noise(noise));
  sim_layer.load_state_dict(cpu_layer.state_dict(), true);
  sim_layer.to(kSim);
  for (int step = 0; step < 3; ++step) {
    const Tensor x = testing::random({6, 16}, DType::f32, 20 + step);
    cpu_layer.weight.zero_grad();
    sim_layer.weight.zero_grad();
    sum(mul(cpu_layer.forward(x), cpu_layer.forward(x))).backward();
    sum(mul(sim_layer.forward(x.to(kSim)), sim_layer.forward(x.to(kSim)))).backward();
    EXPECT_LE(max_difference(sim_layer.weight.grad(), cpu_layer.weight.grad()), 1e-5) << "step " << step;
  }
}

// A layer restored as product-quantized (a checkpoint's iPQ state) made its codes and counts on the CPU.
TEST(OnTheDevice, ARestoredProductQuantizedLayerKeepsItsCodesThere) {
  nn::Linear layer(nn::LinearOptions(8, 4));
  layer.to(kSim);
  layer.make_product_quantized(4, 3, true);
  for (const NamedTensor& t : layer.named_buffers()) EXPECT_EQ(t.tensor.device(), kSim) << t.name;
  const Tensor out = layer.forward(ones({2, 8}, TensorOptions(DType::f32, kSim)));
  EXPECT_EQ(out.device(), kSim);
}

// The assignment step on a device scores chunks of rows: every chunk size gives the CPU kernel's answer.
TEST(OnTheDevice, KMeansAssignmentInChunksIsTheWholeOne) {
  const Tensor points = testing::random({37, 4}, DType::f32, 5);
  const Tensor centroids = testing::random({6, 4}, DType::f32, 6);
  const Tensor expected = kernels::nearest_centroid(points, centroids);
  for (const int64_t chunk : {int64_t{1}, int64_t{6}, int64_t{7}, int64_t{6 * 36}, int64_t{6 * 37}, int64_t{1} << 24}) {
    SCOPED_TRACE(chunk);
    EXPECT_TRUE(same_bits(kernels::nearest_centroid(points.to(kSim), centroids.to(kSim), chunk), expected));
  }
  EXPECT_QN_ERROR(kernels::nearest_centroid(points.to(kSim), centroids.to(kSim), 0), "nearest_centroid", "chunk");
}

// The scratch of the device's assignment step is bounded by its chunk, not by the layer: 200,000 blocks of 8 and
// K = 256 would need 205 MB for one (N, K) score matrix; in chunks of 2^22 scores each temporary takes 16 MiB.
TEST(OnTheDevice, KMeansAssignmentScratchIsBoundedByItsChunk) {
  const Tensor points = testing::random({200000, 8}, DType::f32, 7).to(kSim);
  const Tensor centroids = testing::random({256, 8}, DType::f32, 8).to(kSim);
  const int64_t before = host_allocator_stats().live_bytes;
  reset_host_peak_bytes();
  const Tensor codes = kernels::nearest_centroid(points, centroids, int64_t{1} << 22);
  const int64_t scratch = host_allocator_stats().peak_bytes - before - codes.nbytes();
  EXPECT_LE(scratch, 4 * (int64_t{16} << 20)) << scratch;  // three (rows, K) temporaries and their argmax
  EXPECT_TRUE(same_bits(codes, kernels::nearest_centroid(points.to(Device::cpu()), centroids.to(Device::cpu()))));
  // The reconstruction error, 2^16 blocks at a time: five f64 temporaries of 4 MiB.
  reset_host_peak_bytes();
  const double error = kernels::assignment_error(points, centroids, codes, int64_t{1} << 16);
  EXPECT_LE(host_allocator_stats().peak_bytes - before - codes.nbytes(), 6 * (int64_t{4} << 20));
  const double expected =
      kernels::assignment_error(points.to(Device::cpu()), centroids.to(Device::cpu()), codes.to(Device::cpu()));
  EXPECT_NEAR(error, expected, 1e-12 * expected);
}

// RoBERTa's token-type ids were made on the CPU and fed to the device's embedding; its position check read the
// device's positions back.
TEST(OnTheDevice, RobertaWithTokenTypesRunsThereAsOnTheCpu) {
  models::RobertaConfig config = models::RobertaConfig::named("roberta_tiny");
  config.type_vocab_size = 1;
  config.vocab_size = 50;
  manual_seed(3);
  models::Roberta cpu_model(config);
  models::Roberta sim_model(config);
  sim_model.load_state_dict(cpu_model.state_dict(), true);
  sim_model.to(kSim);
  cpu_model.eval();
  sim_model.eval();
  const Tensor ids = from_vector<int64_t>({0, 5, 9, 7, 2, 1, 0, 8, 3, 2, 1, 1}, {2, 6});
  NoGradGuard no_grad;
  const Tensor expected = cpu_model.features(ids);
  reset_device_reads();
  const Tensor got = sim_model.features(ids.to(kSim));
  EXPECT_EQ(device_reads(), 0);
  EXPECT_TRUE(same_bits(got, expected));
}

// BatchNorm + SiLU as one op: on the CPU one kernel; elsewhere (the GPU, and the simulated device in its place)
// the backward runs the activation's own gradient kernel first. Both ways agree, on each side of the planes /
// columns split of the CPU kernel.
TEST(OnTheDevice, BatchNormWithSiluRunsThereAsOnTheCpu) {
  for (const Shape& shape : {Shape{4, 5, 3, 3}, Shape{2, 3, 9, 8}}) {
    SCOPED_TRACE(shape.str());
    const Tensor x = testing::random(shape, DType::f32, 5), g = testing::random(shape, DType::f32, 6);
    const Tensor w = testing::random({shape[1]}, DType::f32, 7), b = testing::random({shape[1]}, DType::f32, 8);
    std::vector<Tensor> outs, grads;
    for (const Device device : {Device::cpu(), kSim}) {
      Tensor xd = x.to(device), wd = w.to(device), bd = b.to(device);
      for (Tensor* t : {&xd, &wd, &bd}) t->set_requires_grad(true);
      const Tensor out = batch_norm(xd, Tensor(), Tensor(), wd, bd, true, 0.1, 1e-5, {}, kernels::NormActivation::silu);
      out.backward(g.to(device));
      outs.push_back(out.detach());
      for (const Tensor& t : {xd, wd, bd}) grads.push_back(t.grad());
    }
    EXPECT_LT(max_difference(outs[1], outs[0]), 1e-6);
    for (size_t i = 0; i < 3; ++i) EXPECT_LT(max_difference(grads[i + 3], grads[i]), 2e-5) << "gradient " << i;
  }
}

}  // namespace
}  // namespace qn
