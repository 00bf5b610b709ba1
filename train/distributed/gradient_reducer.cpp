#include "train/distributed/gradient_reducer.h"

#include "core/error.h"
#include "kernels/elementwise.h"

namespace qn::distributed {

struct GradientReducer::State {
  struct Bucket {
    std::vector<size_t> parameters;  // indices into State::parameters
    std::vector<int64_t> offsets;    // each parameter's first element in flat
    DType dtype = DType::f32;
    int64_t elements = 0;
    Tensor flat;     // (elements,): the gradients as backward finishes them
    Tensor reduced;  // (elements,): their sum over ranks (out of place: MPI needs no temporary copy)
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
  size_t oldest_in_flight = 0;  // buckets before it are known to be reduced
  bool sync = true;

  // Parameter p's part of its bucket's gradients, and of their sum over ranks.
  Tensor gradient_slot(size_t p) { return part(p, buckets[bucket_of[p]].flat); }
  Tensor reduced_slot(size_t p) { return part(p, buckets[bucket_of[p]].reduced); }
  Tensor part(size_t p, const Tensor& buffer) const {
    return buffer.narrow(0, buckets[bucket_of[p]].offsets[slot_of[p]], parameters[p].numel());
  }

  void start_ready_buckets() {
    while (next_to_start < buckets.size() &&
           buckets[next_to_start].arrived == buckets[next_to_start].parameters.size()) {
      Bucket& b = buckets[next_to_start++];
      b.work = group->all_reduce_sum_async(b.flat, b.reduced);
    }
  }

  void on_gradient(size_t p, const Tensor& grad) {
    if (!sync || arrived[p]) return;
    QN_CHECK(grad.is_contiguous() && grad.dtype() == parameters[p].dtype() && grad.numel() == parameters[p].numel(),
             "GradientReducer", "gradient ", grad.describe(), " does not match its parameter ",
             parameters[p].describe());
    gradient_slot(p).copy_(grad.reshape({-1}));
    arrived[p] = true;
    ++buckets[bucket_of[p]].arrived;
    start_ready_buckets();
    // Lets the transport move the buckets in flight while backward goes on (see Work::test).
    while (oldest_in_flight < next_to_start && buckets[oldest_in_flight].work->test()) ++oldest_in_flight;
  }
};

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
    QN_CHECK(p.defined() && p.is_leaf() && p.requires_grad() && p.device() == parameters.front().device() &&
                 (p.dtype() == DType::f32 || p.dtype() == DType::f64),
             "GradientReducer", "parameter ", k, " should be an f32 or f64 leaf that requires grad, on ",
             parameters.front().device().str(), " as the first is, got ",
             p.defined() ? p.describe() : "an undefined tensor");
  }
  if (!group.runs_data_parallel()) return;  // nothing to average

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
  for (State::Bucket& b : s.buckets) {
    const TensorOptions where(b.dtype, parameters.front().device());
    b.flat = zeros({b.elements}, where);
    b.reduced = zeros({b.elements}, where);
  }
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

bool GradientReducer::reduces(const std::vector<Tensor>& parameters) const {
  const std::vector<Tensor>& mine = state_->parameters;
  if (mine.size() != parameters.size()) return false;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (mine[i].device_data() != parameters[i].device_data()) return false;
  }
  return true;
}

void GradientReducer::finish() {
  State& s = *state_;
  if (!s.sync || s.buckets.empty()) return;
  // Parameters backward did not reach count as zeros; then every bucket can start, in order.
  for (size_t p = 0; p < s.parameters.size(); ++p) {
    if (s.arrived[p]) continue;
    s.gradient_slot(p).zero_();
    s.arrived[p] = true;
    ++s.buckets[s.bucket_of[p]].arrived;
  }
  s.start_ready_buckets();
  const double inverse_world = 1.0 / s.group->world_size();
  for (State::Bucket& b : s.buckets) {
    b.work->wait();
    b.work.reset();
    const Tensor inverse = scalar_tensor(inverse_world, b.dtype).to(b.flat.device());
    for (size_t p : b.parameters) {
      // The average, written over the local gradient where backward left one to reuse.
      Tensor& param = s.parameters[p];
      const Tensor sum = s.reduced_slot(p).view(param.shape());
      Tensor grad = param.grad();
      if (grad.defined() && grad.is_contiguous() && grad.shape() == param.shape()) {
        kernels::binary_out(kernels::BinaryOp::mul, sum, inverse, grad);
      } else {
        param.set_grad(kernels::binary(kernels::BinaryOp::mul, sum, inverse));
      }
    }
    b.arrived = 0;
  }
  s.arrived.assign(s.parameters.size(), false);
  s.next_to_start = 0;
  s.oldest_in_flight = 0;
}

}  // namespace qn::distributed
