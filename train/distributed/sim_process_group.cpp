// The process group for the simulated device: what NCCL is to a GPU. It takes tensors on its `sim` device only
// (NCCL refuses any but its GPU's), runs the data-parallel path even as a group of one (as NCCL's group of one
// does), and moves the bytes with its bootstrap group: MPI reads the device's memory, which is host memory, as a
// CUDA-aware MPI reads a GPU's.
#include "train/distributed/process_group.h"

namespace qn::distributed {
namespace {

class SimProcessGroup final : public ProcessGroup {
 public:
  SimProcessGroup(std::unique_ptr<ProcessGroup> bootstrap, Device device)
      : bootstrap_(std::move(bootstrap)), device_(device) {}

  int rank() const override { return bootstrap_->rank(); }
  int world_size() const override { return bootstrap_->world_size(); }
  std::string backend() const override { return "sim+" + bootstrap_->backend(); }
  bool runs_data_parallel() const override { return true; }
  Device device() const override { return device_; }

  std::unique_ptr<Work> all_reduce_sum_async(const Tensor& input, Tensor& output) override {
    check_all_reduce_operands(input, output);
    check_operand(output, "all_reduce");
    output.storage().bump_version();  // written behind the kernels' back: a host mirror no longer holds
    return bootstrap_->all_reduce_sum_async(input, output);
  }

  void broadcast(Tensor& t, int root) override {
    check_operand(t, "broadcast");
    t.storage().bump_version();
    bootstrap_->broadcast(t, root);
  }

  void barrier() override { bootstrap_->barrier(); }

 private:
  void check_operand(const Tensor& t, const char* op) const {
    QN_CHECK(t.defined() && t.is_contiguous() && t.device() == device_, op, "the ", backend(),
             " group works on contiguous tensors on ", device_, ", got ",
             t.defined() ? t.describe() : "an undefined tensor");
  }

  std::unique_ptr<ProcessGroup> bootstrap_;
  Device device_;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_sim_process_group(std::unique_ptr<ProcessGroup> bootstrap, Device device) {
  QN_CHECK(device.is_sim(), "make_sim_process_group", "expected a sim device, got ", device);
  return std::make_unique<SimProcessGroup>(std::move(bootstrap), device);
}

}  // namespace qn::distributed
