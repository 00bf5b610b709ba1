// LR schedules at points computed by hand from fairseq's and PyTorch's definitions, and gradient clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "tests/reference.h"
#include "train/clip.h"
#include "train/lr_schedule.h"
#include "train/sgd.h"

namespace qn::train {
namespace {

using testing::at;

TEST(Schedules, FixedWithWarmup) {
  const FixedSchedule s(0.5, 4);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.125);  // (0 + 1) / 4
  EXPECT_DOUBLE_EQ(s.lr_at(3), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(100), 0.5);
  EXPECT_DOUBLE_EQ(FixedSchedule(0.3).lr_at(0), 0.3);
}

TEST(Schedules, InverseSqrtLikeFairseq) {
  const InverseSqrtSchedule s(5e-4, 4000, 1e-7);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1e-7);
  EXPECT_DOUBLE_EQ(s.lr_at(2000), 1e-7 + 2000 * (5e-4 - 1e-7) / 4000);
  EXPECT_DOUBLE_EQ(s.lr_at(4000), 5e-4);
  EXPECT_DOUBLE_EQ(s.lr_at(16000), 2.5e-4);                        // 5e-4 sqrt(4000 / 16000)
  EXPECT_DOUBLE_EQ(InverseSqrtSchedule(1e-3, 10).lr_at(5), 5e-4);  // warmup_init_lr defaults to 0
}

TEST(Schedules, CosineLikeFairseqWithGrowingPeriods) {
  // The paper's LM recipe: lr 1.0, min 1e-4, warmup 16k from 1e-7, period 270k, t_mult 2, shrink 0.75.
  CosineScheduleOptions o;
  o.max_lr = 1.0;
  o.min_lr = 1e-4;
  o.warmup_updates = 16000;
  o.warmup_init_lr = 1e-7;
  o.t_mult = 2;
  o.period_updates = 270000;
  o.lr_shrink = 0.75;
  const CosineSchedule s(o);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1e-7);
  EXPECT_NEAR(s.lr_at(8000), 1e-7 + 0.5 * (1.0 - 1e-7), 1e-15);
  EXPECT_NEAR(s.lr_at(16000), 1.0, 1e-15);                        // cycle 0 starts at max
  EXPECT_NEAR(s.lr_at(16000 + 135000), (1.0 + 1e-4) / 2, 1e-12);  // a quarter turn: the midpoint
  EXPECT_NEAR(s.lr_at(16000 + 270000), 0.75, 1e-12);              // cycle 1 starts at max * 0.75
  // cycle 1 lasts 540k: halfway through it lr is the shrunk midpoint
  EXPECT_NEAR(s.lr_at(16000 + 270000 + 270000), 0.75 * (1.0 + 1e-4) / 2, 1e-12);
  const double t = 100000.0 / 270000;
  EXPECT_NEAR(s.lr_at(16000 + 100000), 1e-4 + 0.5 * (1 - 1e-4) * (1 + std::cos(std::numbers::pi * t)), 1e-12);
}

TEST(Schedules, CosineFixedPeriodFromMaxUpdate) {
  CosineScheduleOptions o;
  o.max_lr = 0.1;
  o.max_update = 1000;  // period 1000, t_mult 1, warmup from min_lr = 0
  const CosineSchedule s(o);
  EXPECT_NEAR(s.lr_at(0), 0.1, 1e-15);
  EXPECT_NEAR(s.lr_at(500), 0.05, 1e-15);
  EXPECT_NEAR(s.lr_at(1000), 0.01, 1e-15);  // next cycle, shrunk by 0.1
  CosineScheduleOptions flat;
  flat.max_lr = 0;
  EXPECT_QN_ERROR(CosineSchedule{flat}, "CosineSchedule", "must be more than min_lr");
  EXPECT_QN_ERROR(CosineSchedule(CosineScheduleOptions{}), "CosineSchedule", "period_updates or a max_update");
}

TEST(Schedules, PolynomialDecayLikeRoberta) {
  const PolynomialDecaySchedule s(1e-5, 100, 1100, 0.0, 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(50), 5e-6);
  EXPECT_DOUBLE_EQ(s.lr_at(100), 1e-5);
  EXPECT_DOUBLE_EQ(s.lr_at(600), 5e-6);  // halfway through the decay
  EXPECT_DOUBLE_EQ(s.lr_at(1100), 0.0);
  EXPECT_DOUBLE_EQ(PolynomialDecaySchedule(1.0, 0, 10, 0.1, 2.0).lr_at(5), 0.9 * 0.25 + 0.1);
}

TEST(Schedules, StepAndExponential) {
  const StepSchedule step(0.1, 30, 0.1);
  EXPECT_DOUBLE_EQ(step.lr_at(29), 0.1);
  EXPECT_NEAR(step.lr_at(30), 0.01, 1e-17);
  EXPECT_NEAR(step.lr_at(65), 0.001, 1e-17);
  // EfficientNet: 0.016 decayed by 0.97 every 2.4 epochs.
  const ExponentialSchedule smooth(0.016, 0.97, 2.4);
  EXPECT_NEAR(smooth.lr_at(12), 0.016 * std::pow(0.97, 5.0), 1e-15);
  const ExponentialSchedule stairs(0.016, 0.97, 2.4, true);
  EXPECT_NEAR(stairs.lr_at(11), 0.016 * std::pow(0.97, 4.0), 1e-15);
}

TEST(Schedules, ApplySetsEveryGroup) {
  Tensor a = ones({2}).set_requires_grad(true);
  Tensor b = ones({2}).set_requires_grad(true);
  Sgd sgd({{{a}, 1.0, 0.0}, {{b}, 2.0, 0.0}}, SgdOptions{});
  FixedSchedule(0.5, 4).apply(sgd, 1);
  EXPECT_DOUBLE_EQ(sgd.groups()[0].lr, 0.25);
  EXPECT_DOUBLE_EQ(sgd.groups()[1].lr, 0.25);
}

TEST(Clipping, ScalesToMaxNormLikePyTorch) {
  Tensor a = zeros({2}).set_requires_grad(true);
  Tensor b = zeros({1}).set_requires_grad(true);
  a.set_grad(from_vector<float>({3, 4}));
  b.set_grad(from_vector<float>({12}));
  const double norm = clip_grad_norm_({a, b}, 6.5).item<double>();  // total norm 13
  EXPECT_DOUBLE_EQ(norm, 13.0);
  const double scale = 6.5 / (13.0 + 1e-6);
  EXPECT_NEAR(at(a.grad(), {0}), 3 * scale, 1e-6);
  EXPECT_NEAR(at(b.grad(), {0}), 12 * scale, 1e-6);
  // Under the limit (f32 gradients): unchanged.
  EXPECT_NEAR(clip_grad_norm_({a, b}, 100.0).item<double>(), 13.0 * scale, 1e-6);
  EXPECT_NEAR(at(a.grad(), {1}), 4 * scale, 1e-6);
}

}  // namespace
}  // namespace qn::train
