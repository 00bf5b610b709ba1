#include "train/distributed/sync_batch_norm.h"

#include <algorithm>

#include "nn/norm.h"

namespace qn::distributed {

int synchronize_batch_norm(nn::Module& model, ProcessGroup* group) {
  kernels::SumOverProcesses sum;
  if (group != nullptr && group->world_size() > 1) {
    sum = [group](std::vector<double>& values) {  // through the group's device (NCCL: the GPU)
      Tensor t = from_vector(values).to(group->device());
      all_reduce_sum(*group, t);
      t = t.to(Device::cpu());
      std::copy_n(t.data_ptr<double>(), values.size(), values.begin());
    };
  }
  int changed = 0;
  const auto visit = [&](nn::Module& module) {
    if (auto* norm = dynamic_cast<nn::BatchNorm2d*>(&module)) {
      norm->synchronize(sum);
      ++changed;
    }
  };
  visit(model);
  for (const auto& [name, module] : model.named_modules()) visit(*module);
  return changed;
}

}  // namespace qn::distributed
