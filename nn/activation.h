// Activation layers: parameter-free modules around the functions of autograd/ops.h.
#pragma once

#include "nn/module.h"

namespace qn::nn {

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override { return relu(x); }
};

class GELU : public Module {
 public:
  // approximate_tanh: the tanh form (PyTorch's approximate='tanh'); else the exact erf form.
  explicit GELU(bool approximate_tanh = false) : Module("GELU"), tanh_form_(approximate_tanh) {}
  Tensor forward(const Tensor& x) override { return tanh_form_ ? gelu_tanh(x) : gelu(x); }

 private:
  bool tanh_form_;
};

// x * sigmoid(x), also called Swish.
class SiLU : public Module {
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& x) override { return silu(x); }
};

class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override { return tanh(x); }
};

class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};

}  // namespace qn::nn
