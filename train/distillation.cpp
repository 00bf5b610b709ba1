#include "train/distillation.h"

namespace qn::train {

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  QN_CHECK(student_logits.shape() == teacher_logits.shape() && student_logits.dim() >= 1, "distillation_loss",
           "student and teacher logits must have one shape (..., classes), got ", student_logits.describe(), " and ",
           teacher_logits.describe());
  QN_CHECK(temperature > 0, "distillation_loss", "temperature must be positive, got ", temperature);
  const Tensor teacher_log_p = log_softmax(mul(teacher_logits.detach(), 1.0 / temperature), -1).detach();
  const Tensor student_log_p = log_softmax(mul(student_logits, 1.0 / temperature), -1);
  const Tensor teacher_p = exp(teacher_log_p);
  const int64_t samples = student_logits.numel() / student_logits.size(-1);
  const Tensor kl = sum(mul(teacher_p, sub(teacher_log_p, student_log_p)));
  return mul(kl, temperature * temperature / static_cast<double>(samples));
}

}  // namespace qn::train
