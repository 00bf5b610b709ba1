// Distillation against the uncompressed model (kill-the-bits' iPQ fine-tuning loss, docs/METHOD.md, distillation; an
// option for the fine-tuning between iPQ stages, where fairseq uses the task loss):
//   loss = (1 / B) sum_b KL(softmax(teacher_b / T) || softmax(student_b / T)) * T^2
// with logits (..., C): every leading position is a sample of the batch mean. The teacher is a constant.
#pragma once

#include "autograd/ops.h"

namespace qn::train {

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature = 1.0);

}  // namespace qn::train
