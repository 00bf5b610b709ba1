// A build without MPI (no libopenmpi-dev, or QN_MPI=OFF): only the group of one.
#include "core/error.h"
#include "train/distributed/process_group.h"

namespace qn::distributed {

bool built_with_mpi() { return false; }

std::unique_ptr<ProcessGroup> make_mpi_process_group() {
  throw_error("distributed",
              "this qn was built without MPI: install libopenmpi-dev (tools/setup.sh --tests does) and rebuild");
}

}  // namespace qn::distributed
