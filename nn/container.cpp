#include "nn/container.h"

namespace qn::nn {

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const std::shared_ptr<Module>& m : modules_) h = m->forward(h);
  return h;
}

}  // namespace qn::nn
