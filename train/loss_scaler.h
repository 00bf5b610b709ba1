// Dynamic loss scaling, as PyTorch's GradScaler and fairseq's DynamicLossScaler do it: the loss is multiplied by a
// scale before backward, so that gradients too small for a narrow float type (fp16: below 6e-8) survive, and the
// gradients are divided by it again before the optimizer sees them. A gradient that overflowed (Inf or NaN
// anywhere) skips its update and halves the scale; growth_interval updates in a row without one double it.
//
//   const Tensor loss = ...;
//   scaler.scale_loss(loss).backward();
//   const bool finite = std::isfinite(scaler.unscale(parameters).item<double>());  // gradients / scale, checked
//   if (finite) optimizer.step();
//   scaler.update(!finite);
//
// Under data parallelism the gradients are reduced before unscale, so every rank sees the same overflow and
// takes the same decision.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "core/tensor.h"

namespace qn::train {

struct LossScalerOptions {
  double init_scale = 65536.0;  // 2^16, GradScaler's
  double growth_factor = 2.0;   // after growth_interval updates without overflow
  double backoff_factor = 0.5;  // after an overflow
  int64_t growth_interval = 2000;
  // An overflow that would take the scale below this is the loss exploding, not the scale being too high: an error
  // (fairseq's --min-loss-scale).
  double min_scale = 1e-4;
};

class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(LossScalerOptions options = {});

  double scale() const { return scale_; }
  // Updates without overflow since the scale last changed.
  int64_t growth_tracker() const { return growth_tracker_; }

  // loss * scale, on the graph.
  Tensor scale_loss(const Tensor& loss) const;
  // Divides every defined gradient of `parameters` by the scale, in place. Returns their largest magnitude, a
  // 0-d f64 tensor on their device (0 without gradients): finite exactly when every gradient is. It stays there
  // until the caller reads it, with whatever else the update needs, in one synchronization.
  Tensor unscale(const std::vector<Tensor>& parameters) const;
  // After each update, with whether its gradients overflowed: backs off, or counts toward growth. Throws a
  // qn::Error when the scale would fall below min_scale.
  void update(bool overflowed);

  // {"scale": ..., "growth_tracker": ...}, for checkpoints; load_state checks it before taking it.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
};

}  // namespace qn::train
