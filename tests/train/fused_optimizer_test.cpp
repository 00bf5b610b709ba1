// The fused optimizer steps (kernels/optimizer.h) against the same updates composed of elementwise ops
// (tests/train/unfused_optimizers.h): five steps with fresh gradients, every option that changes the formula, in f32
// and f64. A fused step rounds as the composed ops do (kernels/optimizer_math.h), so on the CPU it is the composed
// update bit for bit; on the simulated device too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "tests/reference.h"
#include "tests/train/unfused_optimizers.h"

namespace qn {
namespace {

// The largest |a - b| over the largest |b| (or 1e-30).
double relative_difference(const Tensor& a, const Tensor& b) {
  const Tensor x = a.to(Device::cpu()).to(DType::f64), y = b.to(Device::cpu()).to(DType::f64);
  const double scale = kernels::amax(kernels::abs(y)).item<double>();
  return kernels::amax(kernels::abs(kernels::sub(x, y))).item<double>() / std::max(scale, 1e-30);
}

// A parameter and two state tensors, the state starting at `state_init`.
struct Slots {
  Tensor p, a, b;
  Slots(DType dtype, Device device, double state_init, uint64_t seed) {
    p = testing::random({257}, dtype, seed).to(device);
    a = full({257}, state_init, TensorOptions(dtype, device));
    b = full({257}, state_init, TensorOptions(dtype, device));
  }
  Slots clone() const {
    Slots c = *this;
    c.p = p.clone();
    c.a = a.clone();
    c.b = b.clone();
    return c;
  }
};

// Step k's gradient, a pure function of k.
Tensor gradient(int k, DType dtype, Device device) { return testing::random({257}, dtype, 100 + k).to(device); }

using Step = std::function<void(Slots&, const Tensor& grad, int k)>;

void expect_close(const Step& fused, const Step& unfused, double state_init) {
  for (const DType dtype : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(dtype));
    Slots mine(dtype, Device::cpu(), state_init, 1), reference = mine.clone();
    Slots on_sim(dtype, Device::sim(0), state_init, 1);
    for (int k = 0; k < 5; ++k) {
      fused(mine, gradient(k, dtype, Device::cpu()), k);
      unfused(reference, gradient(k, dtype, Device::cpu()), k);
      fused(on_sim, gradient(k, dtype, Device::sim(0)), k);
    }
    EXPECT_EQ(relative_difference(mine.p, reference.p), 0);
    EXPECT_EQ(relative_difference(mine.a, reference.a), 0);
    EXPECT_EQ(relative_difference(mine.b, reference.b), 0);
    EXPECT_GT(relative_difference(mine.p, Slots(dtype, Device::cpu(), state_init, 1).p), 1e-4);  // it moved
    for (const auto& [device_tensor, host_tensor] :
         {std::pair{on_sim.p, mine.p}, {on_sim.a, mine.a}, {on_sim.b, mine.b}}) {
      const Tensor back = device_tensor.to(Device::cpu());
      EXPECT_EQ(std::memcmp(back.raw_data(), host_tensor.raw_data(), host_tensor.nbytes()), 0);
    }
  }
}

kernels::AdamStep adam(int k, double weight_decay, bool decoupled) {
  kernels::AdamStep s;
  s.lr = 0.01;
  s.weight_decay = weight_decay;
  s.decoupled_weight_decay = decoupled;
  s.bias_correction1 = 1 - std::pow(s.beta1, k + 1);
  s.bias_correction2 = 1 - std::pow(s.beta2, k + 1);
  return s;
}

TEST(FusedOptimizers, AdamAndAdamW) {
  for (const auto& [decay, is_decoupled] : {std::pair{0.0, false}, {0.1, false}, {0.01, true}}) {
    const double weight_decay = decay;  // lambdas capture variables, not structured bindings (clang 14)
    const bool decoupled = is_decoupled;
    SCOPED_TRACE(weight_decay);
    expect_close(
        [&](Slots& s, const Tensor& g, int k) { adam_step_(s.p, g, s.a, s.b, adam(k, weight_decay, decoupled)); },
        [&](Slots& s, const Tensor& g, int k) {
          testing::unfused_adam(s.p, g, s.a, s.b, adam(k, weight_decay, decoupled));
        },
        0.0);
  }
}

TEST(FusedOptimizers, SgdWithAndWithoutMomentum) {
  for (const bool nesterov : {false, true}) {
    for (const double momentum : {0.0, 0.9}) {
      if (nesterov && momentum == 0) continue;
      SCOPED_TRACE(::testing::Message() << "momentum " << momentum << " nesterov " << nesterov);
      const auto step = [&](int k) {
        return kernels::SgdStep{0.05, momentum, nesterov ? 0.0 : 0.1, 0.01, nesterov, k == 0};
      };
      const auto buffer = [&](Slots& s) { return momentum != 0 ? s.a : Tensor(); };
      expect_close(
          [&](Slots& s, const Tensor& g, int k) {
            Tensor buf = buffer(s);
            sgd_step_(s.p, g, buf, step(k));
          },
          [&](Slots& s, const Tensor& g, int k) {
            Tensor buf = buffer(s);
            testing::unfused_sgd(s.p, g, buf, step(k));
          },
          0.0);
    }
  }
}

TEST(FusedOptimizers, NagWithItsLearningRateCorrection) {
  const auto step = [](int k) { return kernels::NagStep{0.1 / (k + 1), 0.9, k == 0 ? 1.0 : k / (k + 1.0), 0.01}; };
  expect_close([&](Slots& s, const Tensor& g, int k) { nag_step_(s.p, g, s.a, step(k)); },
               [&](Slots& s, const Tensor& g, int k) { testing::unfused_nag(s.p, g, s.a, step(k)); }, 0.0);
}

TEST(FusedOptimizers, RmsPropInBothStylesWithAndWithoutMomentum) {
  for (const bool tensorflow : {false, true}) {
    for (const double momentum : {0.0, 0.9}) {
      SCOPED_TRACE(::testing::Message() << "momentum " << momentum << " tensorflow " << tensorflow);
      kernels::RmsPropStep step;
      step.lr = 0.01;
      step.alpha = 0.9;
      step.eps = 1e-3;
      step.weight_decay = 1e-4;
      step.momentum = momentum;
      step.tensorflow_style = tensorflow;
      const auto buffer = [&](Slots& s) { return momentum != 0 ? s.b : Tensor(); };
      expect_close(
          [&](Slots& s, const Tensor& g, int) {
            Tensor buf = buffer(s);
            rmsprop_step_(s.p, g, s.a, buf, step);
          },
          [&](Slots& s, const Tensor& g, int) {
            Tensor buf = buffer(s);
            testing::unfused_rmsprop(s.p, g, s.a, buf, step);
          },
          tensorflow ? 1.0 : 0.0);
    }
  }
}

TEST(FusedOptimizers, RefuseMismatchedState) {
  Tensor p = zeros({4}), m = zeros({4}), v = zeros({3});
  EXPECT_QN_ERROR(adam_step_(p, zeros({4}), m, v, {}), "adam_step", "state");
  EXPECT_QN_ERROR(adam_step_(p, zeros({4}, DType::f64), m, m, {}), "adam_step", "gradient");
  Tensor on_sim = zeros({4}, TensorOptions(DType::f32, Device::sim(0)));
  EXPECT_QN_ERROR(adam_step_(p, zeros({4}), on_sim, m, {}), "adam_step", "one device");
}

}  // namespace
}  // namespace qn
