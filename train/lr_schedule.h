// Learning-rate schedules as pure functions of the number of updates done, so resuming needs only that
// count. The fairseq ones reproduce fairseq's step_update(num_updates) exactly.
#pragma once

#include <cstdint>

#include "train/optimizer.h"

namespace qn::train {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  // The learning rate to use after num_updates updates.
  virtual double lr_at(int64_t num_updates) const = 0;
  // Sets every parameter group's learning rate for num_updates.
  void apply(Optimizer& optimizer, int64_t num_updates) const;
};

// fairseq "fixed": lr, with linear warmup lr (n + 1) / warmup for n < warmup.
struct FixedSchedule : LrSchedule {
  FixedSchedule(double base_lr, int64_t warmup = 0) : lr(base_lr), warmup_updates(warmup) {}
  double lr_at(int64_t n) const override;
  double lr;
  int64_t warmup_updates;
};

// fairseq "inverse_sqrt": warmup linearly from warmup_init_lr (default 0) to lr over warmup_updates, then
// lr sqrt(warmup_updates / n).
struct InverseSqrtSchedule : LrSchedule {
  InverseSqrtSchedule(double lr, int64_t warmup_updates, double warmup_init_lr = -1);
  double lr_at(int64_t n) const override;
  double lr, warmup_init_lr;
  int64_t warmup_updates;
};

// fairseq "cosine" (SGDR): after a linear warmup from warmup_init_lr (default min_lr), cycles of
//   lr = min + (max - min) (1 + cos(pi t_curr / t_i)) / 2,
// the i-th cycle lasting period t_mult^i with min and max shrunk by lr_shrink^i. period defaults to
// max_update - warmup_updates.
struct CosineScheduleOptions {
  double max_lr = 1.0;
  double min_lr = 0.0;
  int64_t warmup_updates = 0;
  double warmup_init_lr = -1;
  double t_mult = 1.0;
  double period_updates = -1;
  double lr_shrink = 0.1;
  int64_t max_update = 0;
};
struct CosineSchedule : LrSchedule {
  explicit CosineSchedule(const CosineScheduleOptions& options);
  double lr_at(int64_t n) const override;
  CosineScheduleOptions o;
};

// fairseq "polynomial_decay" (RoBERTa): warmup lr n / warmup (n <= warmup), then
// (lr - end) (1 - (n - warmup) / (total - warmup))^power + end, and end from total on.
struct PolynomialDecaySchedule : LrSchedule {
  PolynomialDecaySchedule(double lr, int64_t warmup_updates, int64_t total_num_update, double end_lr = 0.0,
                          double power = 1.0);
  double lr_at(int64_t n) const override;
  double lr, end_lr, power;
  int64_t warmup_updates, total_num_update;
};

// PyTorch's StepLR counted in updates: lr gamma^floor(n / step_size).
struct StepSchedule : LrSchedule {
  StepSchedule(double base_lr, int64_t every, double factor) : lr(base_lr), step_size(every), gamma(factor) {}
  double lr_at(int64_t n) const override;
  double lr;
  int64_t step_size;
  double gamma;
};

// TensorFlow's exponential_decay (EfficientNet): lr decay_rate^(n / decay_steps), the exponent floored when
// staircase.
struct ExponentialSchedule : LrSchedule {
  ExponentialSchedule(double base_lr, double rate, double steps, bool stairs = false)
      : lr(base_lr), decay_rate(rate), decay_steps(steps), staircase(stairs) {}
  double lr_at(int64_t n) const override;
  double lr, decay_rate, decay_steps;
  bool staircase;
};

}  // namespace qn::train
