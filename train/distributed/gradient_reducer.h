// Gradient averaging for data parallelism, as PyTorch's DistributedDataParallel does it: each rank runs
// forward and backward on its own shard of the batch, and the parameters' gradients are averaged over the
// ranks while backward is still running.
//
// The parameters are packed, in reverse order (about the order backward produces their gradients), into
// buckets of about options.bucket_bytes. A post-accumulate hook on each parameter copies its finished
// gradient into its bucket's flat buffer; when a bucket's last gradient arrives its all-reduce starts (out of
// place, into a second buffer: twice the gradients' memory, for no temporary copy inside MPI), and the
// rest of backward runs while it travels. Buckets start strictly in order (every rank must issue the same
// collectives in the same order), so a bucket that is ready waits for the ones before it.
//
//   GradientReducer reducer(group, model.parameters());
//   loss.backward();     // buckets start as they fill
//   reducer.finish();    // waits, averages, writes each parameter's grad()
//   optimizer.step();
//
// With --update-freq, set_sync(false) for the accumulation micro-batches: their gradients add up locally and
// the last micro-batch, with set_sync(true), reduces the sum once. A parameter that backward did not reach on a
// rank counts as a zero gradient there, so every rank ends with the same grad() for every parameter.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "train/distributed/process_group.h"

namespace qn::distributed {

struct GradientReducerOptions {
  int64_t bucket_bytes = int64_t{25} << 20;  // PyTorch's bucket_cap_mb default
};

class GradientReducer {
 public:
  // parameters: CPU leaves that require grad, the same list in the same order on every rank.
  GradientReducer(ProcessGroup& group, const std::vector<Tensor>& parameters, GradientReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Whether the next backward's gradients are reduced (default true).
  void set_sync(bool sync);
  // After a synchronized backward: starts the buckets still waiting, waits for all, and writes the averages
  // into the parameters' grad(). Nothing to do after an unsynchronized one, or with one process.
  void finish();
  // Whether these are the tensors it was built on (an iPQ stage switch replaces some).
  bool reduces(const std::vector<Tensor>& parameters) const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // the hooks hold it weakly: they do nothing once the reducer is gone
};

}  // namespace qn::distributed
