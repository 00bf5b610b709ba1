// Deterministic algorithms, as PyTorch's torch.use_deterministic_algorithms: when on, GPU kernels that would add with
// atomics in an unspecified order take an ordered path (index_add, hence embedding backward: sorted segments summed
// in the order of the positions, which is also the CPU's order), and cuDNN runs only convolution algorithms it
// marks deterministic, so that a run on one GPU repeats bit for bit. Off by default, as in PyTorch: the ordered paths
// cost a sort. The CPU kernels are deterministic either way. `qn train --deterministic` turns it on.
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
