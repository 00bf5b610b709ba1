#include "train/lr_schedule.h"

#include <cmath>
#include <numbers>

namespace qn::train {

void LrSchedule::apply(Optimizer& optimizer, int64_t num_updates) const {
  const double lr = lr_at(num_updates);
  for (ParamGroup& g : optimizer.groups()) g.lr = lr;
}

double FixedSchedule::lr_at(int64_t n) const {
  if (warmup_updates > 0 && n < warmup_updates)
    return lr * static_cast<double>(n + 1) / static_cast<double>(warmup_updates);
  return lr;
}

InverseSqrtSchedule::InverseSqrtSchedule(double lr_, int64_t warmup, double init)
    : lr(lr_), warmup_init_lr(init < 0 ? (warmup > 0 ? 0.0 : lr_) : init), warmup_updates(warmup) {
  QN_CHECK(warmup > 0, "InverseSqrtSchedule", "warmup_updates must be positive, got ", warmup);
}

double InverseSqrtSchedule::lr_at(int64_t n) const {
  if (n < warmup_updates) {
    return warmup_init_lr + static_cast<double>(n) * (lr - warmup_init_lr) / static_cast<double>(warmup_updates);
  }
  return lr * std::sqrt(static_cast<double>(warmup_updates)) / std::sqrt(static_cast<double>(n));
}

CosineSchedule::CosineSchedule(const CosineScheduleOptions& options) : o(options) {
  QN_CHECK(o.max_lr > o.min_lr, "CosineSchedule", "max_lr (", o.max_lr, ") must be more than min_lr (", o.min_lr, ")");
  if (o.warmup_init_lr < 0) o.warmup_init_lr = o.min_lr;
  if (o.period_updates <= 0) {
    QN_CHECK(o.max_update > o.warmup_updates, "CosineSchedule", "set period_updates or a max_update beyond warmup");
    o.period_updates = static_cast<double>(o.max_update - o.warmup_updates);
  }
}

double CosineSchedule::lr_at(int64_t n) const {
  if (n < o.warmup_updates) {
    const double step = (o.max_lr - o.warmup_init_lr) / static_cast<double>(o.warmup_updates);
    return o.warmup_init_lr + static_cast<double>(n) * step;
  }
  const double current = static_cast<double>(n - o.warmup_updates);
  double i, t_i, t_curr;
  if (o.t_mult != 1) {
    // Cycle i starts after period (1 - t_mult^i) / (1 - t_mult) updates and lasts period t_mult^i.
    i = std::floor(std::log(1 - current / o.period_updates * (1 - o.t_mult)) / std::log(o.t_mult));
    t_i = std::pow(o.t_mult, i) * o.period_updates;
    t_curr = current - (1 - std::pow(o.t_mult, i)) / (1 - o.t_mult) * o.period_updates;
  } else {
    i = std::floor(current / o.period_updates);
    t_i = o.period_updates;
    t_curr = current - o.period_updates * i;
  }
  const double shrink = std::pow(o.lr_shrink, i);
  const double low = o.min_lr * shrink;
  const double high = o.max_lr * shrink;
  return low + 0.5 * (high - low) * (1 + std::cos(std::numbers::pi * t_curr / t_i));
}

PolynomialDecaySchedule::PolynomialDecaySchedule(double lr_, int64_t warmup, int64_t total, double end, double power_)
    : lr(lr_), end_lr(end), power(power_), warmup_updates(warmup), total_num_update(total) {
  QN_CHECK(total > warmup, "PolynomialDecaySchedule", "total_num_update (", total, ") must exceed warmup_updates (",
           warmup, ")");
}

double PolynomialDecaySchedule::lr_at(int64_t n) const {
  if (warmup_updates > 0 && n <= warmup_updates)
    return static_cast<double>(n) / static_cast<double>(warmup_updates) * lr;
  if (n >= total_num_update) return end_lr;
  const double remaining =
      1 - static_cast<double>(n - warmup_updates) / static_cast<double>(total_num_update - warmup_updates);
  return (lr - end_lr) * std::pow(remaining, power) + end_lr;
}

double StepSchedule::lr_at(int64_t n) const { return lr * std::pow(gamma, static_cast<double>(n / step_size)); }

double ExponentialSchedule::lr_at(int64_t n) const {
  const double exponent = static_cast<double>(n) / decay_steps;
  return lr * std::pow(decay_rate, staircase ? std::floor(exponent) : exponent);
}

}  // namespace qn::train
