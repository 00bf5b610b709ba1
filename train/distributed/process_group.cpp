#include "train/distributed/process_group.h"

#include <cstdlib>
#include <optional>

#include "core/error.h"
#include "core/parse_integer.h"

namespace qn::distributed {
namespace {

// The variable's value as an int in [minimum, 2^20], nullopt when unset; anything else is an error.
std::optional<int> integer_variable(const char* name, int minimum) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  const std::optional<int> n = parse_integer<int>(value);
  QN_CHECK(n.has_value() && *n >= minimum && *n <= (1 << 20), "distributed", "the launcher's ", name,
           " should be an integer from ", minimum, ", got '", value, "'");
  return *n;
}

class SingleProcessWork final : public Work {
 public:
  void wait() override {}
  bool test() override { return true; }
};

class SingleProcessGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "single"; }
  std::unique_ptr<Work> all_reduce_sum_async(const Tensor& input, Tensor& output) override {
    check_all_reduce_operands(input, output);
    if (output.device_data() != input.device_data()) output.copy_(input);
    return std::make_unique<SingleProcessWork>();
  }
  void broadcast(Tensor& t, int root) override {
    QN_CHECK(root == 0, "broadcast", "root ", root, " is not a rank of a group of one");
    QN_CHECK(t.is_contiguous(), "broadcast", "expected a contiguous tensor, got ", t.describe());
  }
  void barrier() override {}
};

}  // namespace

LaunchEnvironment launch_environment() {
  struct Names {
    const char *launcher, *rank, *size, *local_rank;
  };
  static constexpr Names kLaunchers[] = {
      {"OpenMPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {"MPICH", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
      {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
  };
  for (const Names& names : kLaunchers) {
    const std::optional<int> rank = integer_variable(names.rank, 0);
    const std::optional<int> size = integer_variable(names.size, 1);
    if (!rank && !size) continue;
    QN_CHECK(rank && size, "distributed", names.launcher, "'s environment names ", rank ? names.rank : names.size,
             " without ", rank ? names.size : names.rank);
    QN_CHECK(*rank < *size, "distributed", names.rank, " = ", *rank, " is not below ", names.size, " = ", *size);
    LaunchEnvironment env;
    env.launcher = names.launcher;
    env.rank = *rank;
    env.world_size = *size;
    env.local_rank = integer_variable(names.local_rank, 0).value_or(0);
    return env;
  }
  return {};
}

void all_reduce_sum(ProcessGroup& group, Tensor& t) { group.all_reduce_sum_async(t, t)->wait(); }

void check_all_reduce_operands(const Tensor& input, const Tensor& output) {
  QN_CHECK(input.defined() && output.defined() && input.is_contiguous() && output.is_contiguous() &&
               input.shape() == output.shape() && input.dtype() == output.dtype() && input.device() == output.device(),
           "all_reduce", "expected a contiguous input and an output like it, got ",
           input.defined() ? input.describe() : "an undefined tensor", " and ",
           output.defined() ? output.describe() : "an undefined tensor");
}

std::unique_ptr<ProcessGroup> make_single_process_group() { return std::make_unique<SingleProcessGroup>(); }

std::unique_ptr<ProcessGroup> make_process_group() {
  return launch_environment().world_size > 1 ? make_mpi_process_group() : make_single_process_group();
}

std::unique_ptr<ProcessGroup> make_process_group(Device device) {
  if (device.is_cuda()) return make_nccl_process_group(make_process_group(), device.index);
  if (device.is_sim()) return make_sim_process_group(make_process_group(), device);
  return make_process_group();
}

}  // namespace qn::distributed
