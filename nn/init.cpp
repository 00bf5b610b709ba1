#include "nn/init.h"

#include <cmath>

#include "core/autograd_meta.h"

namespace qn::nn::init {

Fans fans(const Tensor& weight) {
  QN_CHECK(weight.dim() >= 2, "init", "fans need a weight with at least 2 dims, got ", weight.describe());
  int64_t receptive = 1;
  for (int d = 2; d < weight.dim(); ++d) receptive *= weight.size(d);
  return {weight.size(1) * receptive, weight.size(0) * receptive};
}

void uniform_(Tensor& t, double low, double high, Generator* gen) {
  NoGradGuard no_grad;
  qn::uniform_(t, low, high, gen);
}

void normal_(Tensor& t, double mean, double stddev, Generator* gen) {
  NoGradGuard no_grad;
  qn::normal_(t, mean, stddev, gen);
}

void zeros_(Tensor& t) {
  NoGradGuard no_grad;
  t.fill_(0);
}

void ones_(Tensor& t) {
  NoGradGuard no_grad;
  t.fill_(1);
}

void xavier_uniform_(Tensor& t, double gain, Generator* gen) {
  const Fans f = fans(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(f.in + f.out));
  init::uniform_(t, -bound, bound, gen);
}

void kaiming_uniform_(Tensor& t, double a, Generator* gen) {
  const double bound = std::sqrt(6.0 / ((1 + a * a) * static_cast<double>(fans(t).in)));
  init::uniform_(t, -bound, bound, gen);
}

void kaiming_normal_fan_out_(Tensor& t, Generator* gen) {
  init::normal_(t, 0.0, std::sqrt(2.0 / static_cast<double>(fans(t).out)), gen);
}

}  // namespace qn::nn::init
