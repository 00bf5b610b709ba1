#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/ops.h"
#include "core/generator.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace qn {
namespace {

// Storage offset of flat element i (row-major over shape) of a strided tensor.
int64_t element_offset(const Tensor& t, int64_t i) {
  int64_t offset = t.offset();
  for (int d = t.dim() - 1; d >= 0; --d) {
    offset += (i % t.shape()[d]) * t.strides()[d];
    i /= t.shape()[d];
  }
  return offset;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  for (const Tensor& t : inputs) {
    QN_CHECK(t.dtype() == DType::f64 && t.requires_grad(), "gradcheck", "inputs must be f64 and require grad, got ",
             t.describe());
  }
  const Tensor output = f(inputs);
  Generator gen(1234);
  const Tensor weights = randn(output.shape(), DType::f64, &gen);
  const std::vector<Tensor> analytic = grad({output}, inputs, {weights});

  auto loss = [&] {
    NoGradGuard no_grad;
    return kernels::sum(kernels::mul(f(inputs), weights)).item<double>();
  };
  GradcheckResult result;
  std::ostringstream report;
  int mismatches = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    double* data = static_cast<double*>(inputs[k].storage().data());
    const Tensor a = analytic[k].defined() ? analytic[k].contiguous() : zeros(inputs[k].shape(), DType::f64);
    QN_CHECK(a.shape() == inputs[k].shape(), "gradcheck", "gradient ", a.describe(), " for input ", k,
             " does not match ", inputs[k].describe());
    for (int64_t i = 0; i < inputs[k].numel(); ++i) {
      double& x = data[element_offset(inputs[k], i)];
      const double saved = x;
      x = saved + options.eps;
      const double plus = loss();
      x = saved - options.eps;
      const double minus = loss();
      x = saved;
      const double numeric = (plus - minus) / (2 * options.eps);
      const double got = a.data_ptr<double>()[i];
      if (!(std::abs(got - numeric) <= options.atol + options.rtol * std::abs(numeric))) {
        result.ok = false;
        if (++mismatches <= 5) {
          report << "input " << k << " element " << i << ": analytic " << got << ", numeric " << numeric << "; ";
        }
      }
    }
  }
  result.message = report.str();
  return result;
}

}  // namespace qn
