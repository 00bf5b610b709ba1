// The NCCL backend: CUDA tensors on one GPU per process, over the processes a bootstrap group (MPI, or the group
// of one) holds. Rank 0's ncclUniqueId reaches the others through the bootstrap's broadcast.
//
// Collectives run on a communication stream of their own. Each first waits (on the device) for the work queued on
// the device's compute stream when it starts, so that it reads finished gradients; Work::wait makes the compute
// stream wait for it in turn. Neither blocks the host: backward goes on queuing kernels while buckets reduce.
// Buffers stay valid because the caching allocator reuses memory in compute-stream order, which now follows the
// collective.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstring>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "train/distributed/process_group.h"

namespace qn::distributed {
namespace {

void check_nccl(ncclResult_t result, const char* what) {
  QN_CHECK(result == ncclSuccess, "distributed", what, " failed: ", ncclGetErrorString(result));
}
void check_cuda(cudaError_t result, const char* what) {
  QN_CHECK(result == cudaSuccess, "distributed", what, " failed: ", cudaGetErrorString(result));
}

ncclDataType_t nccl_type(DType dtype, const char* op) {
  switch (dtype) {
    case DType::f32:
      return ncclFloat32;
    case DType::f64:
      return ncclFloat64;
    case DType::f16:
      return ncclFloat16;
    case DType::bf16:
      return ncclBfloat16;
    case DType::i64:
      return ncclInt64;
    case DType::i32:
      return ncclInt32;
    case DType::u8:
      return ncclUint8;
    case DType::i8:
      return ncclInt8;
  }
  throw_error(op, "a dtype NCCL does not carry");
}

// An event recorded on the communication stream after one collective.
class NcclWork final : public Work {
 public:
  NcclWork(cudaEvent_t done, cudaStream_t compute, ncclComm_t comm, Tensor input, Tensor output)
      : done_(done), compute_(compute), comm_(comm), input_(std::move(input)), output_(std::move(output)) {}
  ~NcclWork() override {
    if (!waited_) cudaStreamWaitEvent(compute_, done_, 0);  // no throwing from a destructor
    cudaEventDestroy(done_);                                // released once the event has completed
  }
  void wait() override {
    if (waited_) return;
    check_cuda(cudaStreamWaitEvent(compute_, done_, 0), "cudaStreamWaitEvent");
    waited_ = true;
  }
  bool test() override {
    const cudaError_t state = cudaEventQuery(done_);
    if (state == cudaErrorNotReady) {
      // A peer that failed shows here, rather than as a collective that never ends.
      ncclResult_t async = ncclSuccess;
      check_nccl(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
      check_nccl(async, "an NCCL collective");
      return false;
    }
    check_cuda(state, "cudaEventQuery");
    return true;
  }

 private:
  cudaEvent_t done_;
  cudaStream_t compute_;
  ncclComm_t comm_;
  Tensor input_, output_;  // held until the collective is done with them
  bool waited_ = false;
};

class NcclProcessGroup final : public ProcessGroup {
 public:
  NcclProcessGroup(std::unique_ptr<ProcessGroup> bootstrap, int device)
      : bootstrap_(std::move(bootstrap)), device_(device) {
    rank_ = bootstrap_->rank();
    size_ = bootstrap_->world_size();
    ncclUniqueId id;
    std::memset(&id, 0, sizeof id);
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    Tensor bytes = empty({static_cast<int64_t>(sizeof id)}, DType::u8);
    std::memcpy(bytes.raw_data(), &id, sizeof id);
    bootstrap_->broadcast(bytes, 0);
    std::memcpy(&id, bytes.raw_data(), sizeof id);
    const cuda::DeviceGuard guard(device_);
    check_cuda(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }
  ~NcclProcessGroup() override {
    const cuda::DeviceGuard guard(device_);
    cudaStreamSynchronize(comm_stream_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(comm_stream_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  bool runs_data_parallel() const override { return true; }
  Device device() const override { return Device::cuda(device_); }

  std::unique_ptr<Work> all_reduce_sum_async(const Tensor& input, Tensor& output) override {
    check_all_reduce_operands(input, output);
    check_operand(output, "all_reduce");
    output.storage().bump_version();  // written behind the kernels' back: a host mirror no longer holds
    const cuda::DeviceGuard guard(device_);
    follow_compute_stream();
    check_nccl(ncclAllReduce(input.device_data(), output.device_data(), static_cast<size_t>(output.numel()),
                             nccl_type(output.dtype(), "all_reduce"), ncclSum, comm_, comm_stream_),
               "ncclAllReduce");
    return finished_work(input, output);
  }

  void broadcast(Tensor& t, int root) override {
    check_operand(t, "broadcast");
    QN_CHECK(root >= 0 && root < size_, "broadcast", "root ", root, " is not a rank of ", size_);
    t.storage().bump_version();
    const cuda::DeviceGuard guard(device_);
    follow_compute_stream();
    check_nccl(ncclBroadcast(t.device_data(), t.device_data(), static_cast<size_t>(t.numel()),
                             nccl_type(t.dtype(), "broadcast"), root, comm_, comm_stream_),
               "ncclBroadcast");
    finished_work(t, t)->wait();
  }

  void barrier() override {
    Tensor token = zeros({1}, TensorOptions(DType::f32, Device::cuda(device_)));
    all_reduce_sum_async(token, token)->wait();
    cuda::synchronize(device_);
  }

 private:
  cudaStream_t compute_stream() const { return static_cast<cudaStream_t>(cuda::stream(device_)); }

  void check_operand(const Tensor& t, const char* op) const {
    QN_CHECK(t.defined() && t.is_contiguous() && t.device() == Device::cuda(device_), op,
             "the NCCL group works on contiguous tensors on cuda:", device_, ", got ",
             t.defined() ? t.describe() : "an undefined tensor");
  }

  // The next collective starts after the work queued so far on the compute stream.
  void follow_compute_stream() {
    cudaEvent_t ready = nullptr;
    check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    check_cuda(cudaEventRecord(ready, compute_stream()), "cudaEventRecord");
    const cudaError_t waited = cudaStreamWaitEvent(comm_stream_, ready, 0);
    cudaEventDestroy(ready);
    check_cuda(waited, "cudaStreamWaitEvent");
  }

  std::unique_ptr<Work> finished_work(const Tensor& input, const Tensor& output) {
    cudaEvent_t done = nullptr;
    check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    check_cuda(cudaEventRecord(done, comm_stream_), "cudaEventRecord");
    return std::make_unique<NcclWork>(done, compute_stream(), comm_, input, output);
  }

  std::unique_ptr<ProcessGroup> bootstrap_;
  int device_ = 0;
  int rank_ = 0;
  int size_ = 1;
  cudaStream_t comm_stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

bool built_with_nccl() { return true; }

std::unique_ptr<ProcessGroup> make_nccl_process_group(std::unique_ptr<ProcessGroup> bootstrap, int device) {
  QN_CHECK(bootstrap != nullptr, "distributed", "the NCCL group needs a bootstrap group");
  return std::make_unique<NcclProcessGroup>(std::move(bootstrap), device);
}

}  // namespace qn::distributed
