// Readable printing, close to PyTorch's: nested brackets, a shared number format, "..." past 1000
// elements (three items each side per dim), then the dtype and device.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/tensor.h"

namespace qn {
namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Format {
  bool integral = false;
  bool scientific = false;
  int width = 1;
};

std::string format_value(double v, const Format& f) {
  char buf[64];
  if (f.integral) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else if (!std::isfinite(v)) {
    std::snprintf(buf, sizeof buf, "%s", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
  } else if (f.scientific) {
    std::snprintf(buf, sizeof buf, "%.4e", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.4f", v);
  }
  return buf;
}

class Printer {
 public:
  Printer(const Tensor& t, bool summarize) : t_(t.contiguous().to(DType::f64)), summarize_(summarize) {
    values_ = t_.data_ptr<double>();
    format_.integral = !is_floating(t.dtype());
    double max_abs = 0;
    double min_abs = INFINITY;
    for (int64_t i = 0; i < t_.numel(); ++i) {
      if (!std::isfinite(values_[i])) continue;
      max_abs = std::max(max_abs, std::abs(values_[i]));
      if (values_[i] != 0) min_abs = std::min(min_abs, std::abs(values_[i]));
    }
    format_.scientific = !format_.integral && (max_abs >= 1e8 || (min_abs < 1e-4 && min_abs != INFINITY));
    for (int64_t i = 0; i < t_.numel(); ++i) {
      format_.width = std::max<int>(format_.width, static_cast<int>(format_value(values_[i], format_).size()));
    }
  }

  void print(std::ostream& out, int dim, int64_t base, int indent) const {
    if (t_.dim() == 0) {
      out << format_value(values_[0], format_);
      return;
    }
    const int64_t size = t_.shape()[dim];
    const int64_t stride = t_.strides()[dim];
    const bool cut = summarize_ && size > 2 * kEdgeItems;
    out << '[';
    for (int64_t i = 0; i < size; ++i) {
      if (cut && i == kEdgeItems) {
        out << (dim + 1 == t_.dim() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
        i = size - kEdgeItems;
      }
      if (dim + 1 == t_.dim()) {
        std::string s = format_value(values_[base + i * stride], format_);
        out << std::string(format_.width - s.size(), ' ') << s;
      } else {
        print(out, dim + 1, base + i * stride, indent + 1);
      }
      if (i + 1 < size) {
        out << ',';
        out << (dim + 1 == t_.dim() ? std::string(" ")
                                    : std::string(t_.dim() - dim - 1, '\n') + std::string(indent + 1, ' '));
      }
    }
    out << ']';
  }

 private:
  Tensor t_;
  bool summarize_;
  const double* values_ = nullptr;
  Format format_;
};

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream out;
  out << "tensor(";
  if (numel() == 0) {
    out << "[], shape=" << shape();
  } else {  // a device's values are read back (a counted read, core/device_reads.h)
    Printer(to(Device::cpu()), numel() > kSummarizeAbove).print(out, 0, 0, 7);
  }
  out << ", dtype=" << dtype();
  if (!device().is_cpu()) out << ", device=" << device();
  out << ')';
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) { return out << t.str(); }

}  // namespace qn
