// Numerically stable softmax and log-softmax along one dim (the max is subtracted first).
#pragma once

#include "core/tensor.h"

namespace qn::kernels {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace qn::kernels
