// Optimizers: parameter groups (each with its own learning rate and weight decay, which LR schedules and
// "no decay on biases" rules set) and per-parameter state. step() runs without recording the graph.
#pragma once

#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"

namespace qn::train {

struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 1e-3;
  double weight_decay = 0.0;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;

  // Starts afresh on new parameter groups, as a newly built optimizer of the same kind: every moment and the
  // step count are dropped (iPQ's stage switch, docs/METHOD.md, iPQ).
  void reset(std::vector<ParamGroup> groups);

  // One update of every parameter that has a gradient.
  void step();
  void zero_grad();
  std::vector<ParamGroup>& groups() { return groups_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  int64_t steps() const { return steps_; }

  // The per-parameter state ("<group>.<index>.<name>", e.g. "0.3.exp_avg") and the step count.
  std::vector<NamedTensor> state_dict() const;
  void load_state_dict(const std::vector<NamedTensor>& state);

 protected:
  // Updates p in place from its gradient; state holds p's buffers by name (created on first use).
  virtual void update(Tensor& p, const Tensor& grad, size_t group_index, const ParamGroup& group,
                      std::vector<NamedTensor>& state) = 0;
  // A handle to the state tensor called name (made as zeros like p when missing); in-place updates
  // through it reach the stored state.
  static Tensor state_tensor(std::vector<NamedTensor>& state, const std::string& name, const Tensor& p);

  int64_t steps_ = 0;

 private:
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<std::vector<NamedTensor>>> state_;  // [group][param] -> buffers
};

}  // namespace qn::train
