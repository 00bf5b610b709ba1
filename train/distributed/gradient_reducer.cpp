#include "train/distributed/gradient_reducer.h"

#include <cstring>

#include "core/dtype.h"
#include "core/error.h"

namespace qn::distributed {

struct GradientReducer::State {
  struct Bucket {
    std::vector<size_t> parameters;  // indices into State::parameters
    std::vector<int64_t> offsets;    // each parameter's first element in flat
    DType dtype = DType::f32;
    int64_t elements = 0;
    Tensor flat;  // (elements,)
    size_t arrived = 0;
    std::unique_ptr<Work> work;
  };

  ProcessGroup* group = nullptr;
  std::vector<Tensor> parameters;
  std::vector<size_t> bucket_of;  // per parameter
  std::vector<size_t> slot_of;    // per parameter: its position in its bucket
  std::vector<bool> arrived;      // per parameter, this backward
  std::vector<Bucket> buckets;
  size_t next_to_start = 0;
  bool sync = true;

  char* slot(size_t p) {
    Bucket& b = buckets[bucket_of[p]];
    return static_cast<char*>(b.flat.raw_data()) + b.offsets[slot_of[p]] * static_cast<int64_t>(b.flat.element_size());
  }

  void start_ready_buckets() {
    while (next_to_start < buckets.size() &&
           buckets[next_to_start].arrived == buckets[next_to_start].parameters.size()) {
      Bucket& b = buckets[next_to_start++];
      b.work = group->all_reduce_sum_async(b.flat);
    }
  }

  void on_gradient(size_t p, const Tensor& grad) {
    if (!sync || arrived[p]) return;
    QN_CHECK(grad.is_contiguous() && grad.dtype() == parameters[p].dtype() && grad.numel() == parameters[p].numel(),
             "GradientReducer", "gradient ", grad.describe(), " does not match its parameter ",
             parameters[p].describe());
    std::memcpy(slot(p), grad.raw_data(), grad.nbytes());
    arrived[p] = true;
    ++buckets[bucket_of[p]].arrived;
    start_ready_buckets();
  }
};

namespace {

void scale(Tensor& t, double factor) {
  if (t.dtype() == DType::f32) {
    float* v = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) v[i] *= static_cast<float>(factor);
  } else {
    double* v = t.data_ptr<double>();
    for (int64_t i = 0; i < t.numel(); ++i) v[i] *= factor;
  }
}

}  // namespace

GradientReducer::GradientReducer(ProcessGroup& group, const std::vector<Tensor>& parameters,
                                 GradientReducerOptions options)
    : state_(std::make_shared<State>()) {
  QN_CHECK(options.bucket_bytes > 0, "GradientReducer", "bucket_bytes must be positive, got ", options.bucket_bytes);
  State& s = *state_;
  s.group = &group;
  s.parameters = parameters;
  s.bucket_of.assign(parameters.size(), 0);
  s.slot_of.assign(parameters.size(), 0);
  s.arrived.assign(parameters.size(), false);
  for (size_t k = 0; k < parameters.size(); ++k) {
    const Tensor& p = parameters[k];
    QN_CHECK(p.defined() && p.is_leaf() && p.requires_grad() && p.device().is_cpu() &&
                 (p.dtype() == DType::f32 || p.dtype() == DType::f64),
             "GradientReducer", "parameter ", k, " should be an f32 or f64 CPU leaf that requires grad, got ",
             p.defined() ? p.describe() : "an undefined tensor");
  }
  if (group.world_size() == 1) return;  // nothing to average

  // Reverse order; a bucket closes at bucket_bytes or where the dtype changes.
  for (size_t k = parameters.size(); k-- > 0;) {
    const Tensor& p = parameters[k];
    const bool opens = s.buckets.empty() || s.buckets.back().dtype != p.dtype() ||
                       s.buckets.back().elements * static_cast<int64_t>(p.element_size()) >= options.bucket_bytes;
    if (opens) {
      s.buckets.emplace_back();
      s.buckets.back().dtype = p.dtype();
    }
    State::Bucket& b = s.buckets.back();
    s.bucket_of[k] = s.buckets.size() - 1;
    s.slot_of[k] = b.parameters.size();
    b.parameters.push_back(k);
    b.offsets.push_back(b.elements);
    b.elements += p.numel();
  }
  for (State::Bucket& b : s.buckets) b.flat = zeros({b.elements}, b.dtype);
  const std::weak_ptr<State> weak = state_;
  for (size_t k = 0; k < parameters.size(); ++k) {
    Tensor p = parameters[k];
    p.register_post_accumulate_grad_hook([weak, k](const Tensor& grad) {
      if (const std::shared_ptr<State> state = weak.lock()) state->on_gradient(k, grad);
    });
  }
}

GradientReducer::~GradientReducer() {
  for (State::Bucket& b : state_->buckets) {
    if (b.work) b.work->wait();  // MPI must not write into a freed buffer
  }
}

void GradientReducer::set_sync(bool sync) { state_->sync = sync; }

int64_t GradientReducer::bucket_count() const { return static_cast<int64_t>(state_->buckets.size()); }

void GradientReducer::finish() {
  State& s = *state_;
  if (!s.sync || s.buckets.empty()) return;
  // Parameters backward did not reach count as zeros; then every bucket can start, in order.
  for (size_t p = 0; p < s.parameters.size(); ++p) {
    if (s.arrived[p]) continue;
    std::memset(s.slot(p), 0, s.parameters[p].nbytes());
    s.arrived[p] = true;
    ++s.buckets[s.bucket_of[p]].arrived;
  }
  s.start_ready_buckets();
  const double inverse_world = 1.0 / s.group->world_size();
  for (State::Bucket& b : s.buckets) {
    b.work->wait();
    b.work.reset();
    scale(b.flat, inverse_world);
    for (size_t i = 0; i < b.parameters.size(); ++i) {
      Tensor& p = s.parameters[b.parameters[i]];
      Tensor grad = empty(p.shape(), p.dtype());
      std::memcpy(grad.raw_data(), s.slot(b.parameters[i]), grad.nbytes());
      p.set_grad(grad);
    }
    b.arrived = 0;
  }
  s.arrived.assign(s.parameters.size(), false);
  s.next_to_start = 0;
}

}  // namespace qn::distributed
