// Deterministic algorithms, as PyTorch's torch.use_deterministic_algorithms: when on, index_add on the GPU (hence
// embedding backward) sums repeated indices in position order, the CPU's, instead of by atomics: sorted segments; and
// cuDNN runs only convolution algorithms it marks deterministic. scatter_add (gather's backward) and pooling's
// backward still add atomically: deterministic where no two positions add into one element (cross-entropy's gather,
// global average pooling), not with overlapping max-pooling windows, which no model here has. So a training run of
// these models on one GPU repeats bit for bit. Off by default, as in PyTorch: the ordered path costs a sort. The CPU
// kernels are deterministic either way. `qn train --deterministic` turns it on.
#pragma once

namespace qn::kernels {

void set_deterministic_algorithms(bool on);
bool deterministic_algorithms();

// Turns deterministic algorithms on or off for a scope, restoring the previous setting.
class DeterministicAlgorithmsGuard {
 public:
  explicit DeterministicAlgorithmsGuard(bool on) : previous_(deterministic_algorithms()) {
    set_deterministic_algorithms(on);
  }
  ~DeterministicAlgorithmsGuard() { set_deterministic_algorithms(previous_); }
  DeterministicAlgorithmsGuard(const DeterministicAlgorithmsGuard&) = delete;
  DeterministicAlgorithmsGuard& operator=(const DeterministicAlgorithmsGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace qn::kernels
