#include "train/loss_scaler.h"

#include <cmath>

#include "autograd/ops.h"
#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/join.h"
#include "kernels/reduce.h"

namespace qn::train {

DynamicLossScaler::DynamicLossScaler(LossScalerOptions options) : options_(options), scale_(options.init_scale) {
  QN_CHECK(std::isfinite(options_.init_scale) && options_.init_scale > 0, "DynamicLossScaler",
           "init_scale must be positive and finite, got ", options_.init_scale);
  QN_CHECK(options_.growth_factor > 1, "DynamicLossScaler", "growth_factor must exceed 1, got ",
           options_.growth_factor);
  QN_CHECK(options_.backoff_factor > 0 && options_.backoff_factor < 1, "DynamicLossScaler",
           "backoff_factor must lie in (0, 1), got ", options_.backoff_factor);
  QN_CHECK(options_.growth_interval >= 1, "DynamicLossScaler", "growth_interval must be >= 1, got ",
           options_.growth_interval);
  QN_CHECK(options_.min_scale > 0 && options_.min_scale <= options_.init_scale, "DynamicLossScaler",
           "min_scale must lie in (0, init_scale], got ", options_.min_scale);
}

Tensor DynamicLossScaler::scale_loss(const Tensor& loss) const { return mul(loss, scale_); }

Tensor DynamicLossScaler::unscale(const std::vector<Tensor>& parameters) const {
  NoGradGuard no_grad;
  const double inverse = 1.0 / scale_;
  // Each gradient's largest magnitude is Inf or NaN (amax propagates NaN) exactly when one of its elements is.
  // They are gathered on the gradients' device, and their peak stays there: no synchronization here.
  std::vector<Tensor> peaks;
  for (const Tensor& p : parameters) {
    Tensor g = p.grad();
    if (!g.defined() || g.numel() == 0) continue;
    mul_(g, inverse);
    peaks.push_back(kernels::amax(kernels::unary(kernels::UnaryOp::abs, g)).to(DType::f64).reshape({1}));
  }
  if (peaks.empty()) {  // no gradient: nothing overflowed, where the parameters are
    return scalar_tensor(0.0, TensorOptions(DType::f64, parameters.empty() ? Device::cpu() : parameters[0].device()));
  }
  return kernels::amax(kernels::cat(peaks, 0));
}

void DynamicLossScaler::update(bool overflowed) {
  if (!overflowed) {
    if (++growth_tracker_ == options_.growth_interval) {
      // Growing past the largest double would make every later loss Inf; stay where the scale is.
      if (std::isfinite(scale_ * options_.growth_factor)) scale_ *= options_.growth_factor;
      growth_tracker_ = 0;
    }
    return;
  }
  const double backed_off = scale_ * options_.backoff_factor;
  QN_CHECK(backed_off >= options_.min_scale, "DynamicLossScaler", "the gradients overflowed at loss scale ", scale_,
           " and the scale may not fall below min_scale ", options_.min_scale,
           ": the loss is probably exploding (a lower learning rate, or clipping, may help)");
  scale_ = backed_off;
  growth_tracker_ = 0;
}

nlohmann::json DynamicLossScaler::state() const { return {{"scale", scale_}, {"growth_tracker", growth_tracker_}}; }

void DynamicLossScaler::load_state(const nlohmann::json& state) {
  const auto number = [&](const char* key) {
    QN_CHECK(state.is_object() && state.contains(key) && state.at(key).is_number(), "DynamicLossScaler",
             "the saved state lacks the number '", key, "': ", state.dump());
    return state.at(key).get<double>();
  };
  const double scale = number("scale");
  const double tracker = number("growth_tracker");
  QN_CHECK(std::isfinite(scale) && scale > 0, "DynamicLossScaler", "a saved scale must be positive, got ", scale);
  QN_CHECK(tracker >= 0 && tracker < static_cast<double>(options_.growth_interval) && tracker == std::floor(tracker),
           "DynamicLossScaler", "a saved growth_tracker must be a whole number below growth_interval ",
           options_.growth_interval, ", got ", tracker);
  scale_ = scale;
  growth_tracker_ = static_cast<int64_t>(tracker);
}

}  // namespace qn::train
