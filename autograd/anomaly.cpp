#include "autograd/anomaly.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "core/autograd_meta.h"
#include "core/error.h"

namespace qn::autograd {
namespace {

struct Registry {
  std::mutex mutex;
  int guards = 0;
  std::unordered_map<const AutogradMeta*, std::string> module_of;  // parameter -> module name
};
Registry& registry() {
  static Registry r;
  return r;
}
std::atomic<bool> g_enabled{false};

struct Scan {
  bool nan = false, inf = false;
  bool bad(bool inf_counts) const { return nan || (inf_counts && inf); }
  const char* what() const { return nan ? "NaN" : "Inf"; }
};

Scan scan(const Tensor& t) {
  Scan s;
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return s;
  Tensor values = t.to(Device::cpu());
  values = values.dtype() == DType::f64 ? values.contiguous() : values.to(DType::f64).contiguous();
  const double* v = values.data_ptr<double>();
  for (int64_t i = 0; i < values.numel(); ++i) {
    s.nan = s.nan || std::isnan(v[i]);
    s.inf = s.inf || std::isinf(v[i]);
  }
  return s;
}

// " in module M" for the first input that is a registered parameter, else "".
std::string module_of(const std::vector<const AutogradMeta*>& inputs) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const AutogradMeta* meta : inputs) {
    if (const auto it = r.module_of.find(meta); meta != nullptr && it != r.module_of.end()) {
      return " in module '" + it->second + "'";
    }
  }
  return "";
}

}  // namespace

DetectAnomaly::DetectAnomaly(const std::vector<NamedTensor>& parameters) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const NamedTensor& p : parameters) {
    if (!p.tensor.defined() || !p.tensor.requires_grad()) continue;
    const size_t dot = p.name.rfind('.');
    r.module_of[p.tensor.shared_autograd_meta().get()] = dot == std::string::npos ? "" : p.name.substr(0, dot);
  }
  ++r.guards;
  g_enabled = true;
}

DetectAnomaly::~DetectAnomaly() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (--r.guards == 0) {
    g_enabled = false;
    r.module_of.clear();
  }
}

bool anomaly_detection_enabled() { return g_enabled.load(std::memory_order_relaxed); }

void check_forward_output(const char* op, const Tensor& output, const std::vector<Tensor>& inputs) {
  if (!anomaly_detection_enabled() || !scan(output).nan) return;
  std::vector<const AutogradMeta*> metas;
  bool inputs_clean = true;
  for (const Tensor& t : inputs) {
    metas.push_back(t.defined() && t.requires_grad() ? t.shared_autograd_meta().get() : nullptr);
    inputs_clean = inputs_clean && !scan(t).nan;
  }
  throw_error("anomaly", detail::concat(op, module_of(metas), " produced NaN in its output ", output.describe(),
                                        inputs_clean ? " from inputs without NaN" : ", its inputs holding NaN already",
                                        " (the first op to do so since anomaly detection began)"));
}

void check_backward_grads(const std::string& op, const Tensor& grad_output, const std::vector<Tensor>& input_grads,
                          const std::vector<const AutogradMeta*>& inputs) {
  if (!anomaly_detection_enabled()) return;
  for (size_t i = 0; i < input_grads.size(); ++i) {
    const Scan s = scan(input_grads[i]);
    if (!s.bad(true)) continue;
    const bool upstream_clean = !scan(grad_output).bad(true);
    throw_error("anomaly", detail::concat("the backward of ", op, module_of(inputs), " produced ", s.what(),
                                          " in the gradient for its input ", i, " ", input_grads[i].describe(),
                                          upstream_clean ? " from a finite output gradient"
                                                         : ", its output gradient being bad already"));
  }
}

}  // namespace qn::autograd
