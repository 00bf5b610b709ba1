// The processes of a data-parallel run and the collective operations between them, as in
// torch.distributed: every process calls the same collectives in the same order, each on its own tensor.
//
//   auto group = distributed::make_process_group();  // MPI when launched by mpirun, else a group of one
//   distributed::all_reduce_sum(*group, grad);        // grad (any shape): the sum over ranks, in place
//   group->broadcast(weight, 0);                      // weight: rank 0's values on every rank
//
// Backends: MPI for CPU tensors (Debian's OpenMPI; `mpirun -np N qn train ...` launches), NCCL for CUDA tensors
// (one GPU per process, bootstrapped over MPI), and NCCL's stand-in for the simulated device. A build without MPI still
// has the group of one, so single-process code paths need no special case.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"

namespace qn::distributed {

// Where this process sits, read from the launcher's environment: OpenMPI's OMPI_COMM_WORLD_{RANK,SIZE,
// LOCAL_RANK}, else MPICH's PMI_{RANK,SIZE} (and MPI_LOCALRANKID), else RANK / WORLD_SIZE / LOCAL_RANK
// (torchrun's names); none of them: rank 0 of 1. Malformed values are an error naming the variable.
struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // the rank among this machine's processes: which GPU a process takes
  std::string launcher = "none";
};
LaunchEnvironment launch_environment();

// A collective started and not yet known to be complete. The tensor it works on must not be read or
// written until wait() returns; destroying an unfinished Work waits for it.
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
  // Whether it is complete, without blocking. Calling it also lets the transport move: MPI advances a
  // non-blocking collective only inside MPI calls, so backward polls the oldest one as it goes.
  virtual bool test() = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;
  // Whether training with this group takes the data-parallel path (rank 0's model broadcast, gradients reduced):
  // with more than one process, and with NCCL's group of one, so that one GPU runs what many do.
  virtual bool runs_data_parallel() const { return world_size() > 1; }
  // Where its collectives take their tensors: the CPU, or an NCCL group's GPU.
  virtual Device device() const { return Device::cpu(); }

  // output becomes the elementwise sum over ranks of every rank's input (contiguous, the same shape and dtype
  // on every rank; output like input, or input itself: in place). Started now, complete after wait(): backward
  // launches one per gradient bucket and goes on. Out of place spares MPI a temporary copy of the buffer.
  virtual std::unique_ptr<Work> all_reduce_sum_async(const Tensor& input, Tensor& output) = 0;
  // Every rank's `t` becomes rank root's.
  virtual void broadcast(Tensor& t, int root) = 0;
  // Returns once every rank has called it.
  virtual void barrier() = 0;
};

// all_reduce_sum_async in place, waited for.
void all_reduce_sum(ProcessGroup& group, Tensor& t);
// For the backends: throws unless input and output suit all_reduce_sum_async.
void check_all_reduce_operands(const Tensor& input, const Tensor& output);

// One process: collectives leave tensors as they are.
std::unique_ptr<ProcessGroup> make_single_process_group();
// The MPI group of every process mpirun started (MPI_COMM_WORLD); initializes MPI on first use and finalizes
// it at exit. An error in a build without MPI.
std::unique_ptr<ProcessGroup> make_mpi_process_group();
// MPI when a launcher's environment names more than one process, else the group of one.
std::unique_ptr<ProcessGroup> make_process_group();
// The NCCL group over bootstrap's processes (it broadcasts rank 0's NCCL id, and the group keeps it) for CUDA
// tensors on `device`. Collectives run on a stream of their own after the work queued on the device's stream;
// Work::wait orders the device's stream after them without blocking the host (train/distributed/
// nccl_process_group.cpp). An error in a build without NCCL.
std::unique_ptr<ProcessGroup> make_nccl_process_group(std::unique_ptr<ProcessGroup> bootstrap, int device);
// The simulated device's group over bootstrap's processes (train/distributed/sim_process_group.cpp): it takes
// tensors on `device` only and runs the data-parallel path even alone, as NCCL's group does for a GPU.
std::unique_ptr<ProcessGroup> make_sim_process_group(std::unique_ptr<ProcessGroup> bootstrap, Device device);
// The group for tensors on `device`: NCCL over make_process_group()'s processes for a CUDA device (even a group
// of one, so that one GPU runs the path many do), its stand-in for the simulated device, else
// make_process_group().
std::unique_ptr<ProcessGroup> make_process_group(Device device);

bool built_with_mpi();
bool built_with_nccl();

}  // namespace qn::distributed
