// A build without NCCL (no CUDA toolkit, or QN_CUDA=OFF): CUDA tensors have no process group.
#include "core/error.h"
#include "train/distributed/process_group.h"

namespace qn::distributed {

bool built_with_nccl() { return false; }

std::unique_ptr<ProcessGroup> make_nccl_process_group(std::unique_ptr<ProcessGroup>, int) {
  throw_error("distributed", "this qn was built without NCCL: it comes with the CUDA toolkit (QN_CUDA)");
}

}  // namespace qn::distributed
