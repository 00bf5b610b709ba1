// The MPI backend: MPI_COMM_WORLD of the processes mpirun started, CPU tensors. Calls return MPI's errors
// (MPI_ERRORS_RETURN) so that a failed collective is an exception naming the operation, not an abort.
#include <mpi.h>

#include <cstdlib>
#include <mutex>

#include "core/error.h"
#include "train/distributed/process_group.h"

namespace qn::distributed {
namespace {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw_error("distributed", detail::concat(what, " failed: ", std::string(message, static_cast<size_t>(length))));
}

MPI_Datatype mpi_type(const Tensor& t, const char* op) {
  switch (t.dtype()) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    case DType::i64:
      return MPI_INT64_T;
    case DType::i32:
      return MPI_INT32_T;
    case DType::u8:
      return MPI_UINT8_T;
    case DType::i8:
      return MPI_INT8_T;
    default:
      throw_error(op, detail::concat("MPI has no ", dtype_name(t.dtype()), " type; got ", t.describe()));
  }
}

void check_operand(const Tensor& t, const char* op) {
  // Host memory: the CPU's, or the simulated device's, which MPI reads as a CUDA-aware MPI reads a GPU's.
  QN_CHECK(t.defined() && t.device().runs_cpu_kernels() && t.is_contiguous(), op,
           "the MPI backend takes contiguous tensors in host memory (cpu or sim), got ",
           t.defined() ? t.describe() : "an undefined tensor");
  QN_CHECK(t.numel() <= INT32_MAX, op, "more elements than one MPI call takes: ", t.describe());
}

// MPI_Init once per process (threads: only the one that initialized calls MPI), MPI_Finalize at exit.
void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit([] {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
      });
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  });
}

class MpiWork final : public Work {
 public:
  MpiWork(Tensor input, Tensor output, MPI_Request request)
      : input_(std::move(input)), output_(std::move(output)), request_(request) {}
  ~MpiWork() override {
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  void wait() override { check_mpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait (all_reduce)"); }
  bool test() override {
    int done = 0;  // MPI_Test sets the request to MPI_REQUEST_NULL once complete, and is then a no-op
    check_mpi(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test (all_reduce)");
    return done != 0;
  }

 private:
  Tensor input_, output_;  // keep the buffers alive while MPI works on them
  MPI_Request request_;
};

class MpiProcessGroup final : public ProcessGroup {
 public:
  MpiProcessGroup() {
    ensure_initialized();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  std::unique_ptr<Work> all_reduce_sum_async(const Tensor& input, Tensor& output) override {
    check_all_reduce_operands(input, output);
    check_operand(output, "all_reduce");
    const void* send = output.device_data() == input.device_data() ? MPI_IN_PLACE : input.device_data();
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Iallreduce(send, output.device_data(), static_cast<int>(output.numel()),
                             mpi_type(output, "all_reduce"), MPI_SUM, MPI_COMM_WORLD, &request),
              "MPI_Iallreduce");
    return std::make_unique<MpiWork>(input, output, request);
  }

  void broadcast(Tensor& t, int root) override {
    check_operand(t, "broadcast");
    QN_CHECK(root >= 0 && root < size_, "broadcast", "root ", root, " is not a rank of ", size_);
    check_mpi(MPI_Bcast(t.device_data(), static_cast<int>(t.numel()), mpi_type(t, "broadcast"), root, MPI_COMM_WORLD),
              "MPI_Bcast");
  }

  void barrier() override { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

bool built_with_mpi() { return true; }

std::unique_ptr<ProcessGroup> make_mpi_process_group() { return std::make_unique<MpiProcessGroup>(); }

}  // namespace qn::distributed
