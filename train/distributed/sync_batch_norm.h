// Synchronized BatchNorm, as torch.nn.SyncBatchNorm.convert_sync_batchnorm: every BatchNorm2d of a model
// normalizes in training with the statistics of the whole batch of a data-parallel run (each process's part
// of it), and its backward with the gradient sums of the whole batch, so W processes with batch B compute what
// one process with batch W*B computes. The sums travel as one small all-reduce per layer in forward and one in
// backward (2C + 1 doubles): worth it when a process's batch is too small for good statistics.
#pragma once

#include "nn/module.h"
#include "train/distributed/process_group.h"

namespace qn::distributed {

// Synchronizes every BatchNorm2d of model over group (which must outlive the model's training), or undoes it
// with a null group. Returns the number of layers changed.
int synchronize_batch_norm(nn::Module& model, ProcessGroup* group);

}  // namespace qn::distributed
