// CUDA convolution on cuDNN: forward, backward data and backward filter, any groups (depthwise included). cuDNN's
// heuristics choose each algorithm once per shape, preferring deterministic ones, and the choice is cached with the
// math type it was ranked with (kernels/cuda/conv_choice.h). FP32 convolutions pass over tensor-core algorithms
// unless kernels::allow_tf32() (one switch for GEMMs and convolutions), as PyTorch's do.
// cuDNN pads symmetrically; an asymmetric padding (TensorFlow's 'same') becomes an explicitly padded input.
#include <cudnn.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/cuda_memory.h"
#include "kernels/cuda/conv_choice.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/library_support.h"
#include "kernels/determinism.h"
#include "kernels/matmul.h"

namespace qn::kernels::cuda {
namespace {

constexpr const char* kOp = "conv2d";
// Algorithms needing more scratch memory than this are passed over.
constexpr size_t kMaxWorkspace = size_t{1} << 30;

void check_cudnn(cudnnStatus_t status, const char* call) {
  QN_CHECK(status == CUDNN_STATUS_SUCCESS, kOp, call, " failed: ", cudnnGetErrorString(status));
}

// The device's cuDNN handle, bound to its stream.
cudnnHandle_t handle(int device) {
  return per_device_handle<cudnnHandle_t>(device, [device] {
    cudnnHandle_t h = nullptr;
    check_cudnn(cudnnCreate(&h), "cudnnCreate");
    check_cudnn(cudnnSetStream(h, static_cast<cudaStream_t>(::qn::cuda::stream(device))), "cudnnSetStream");
    return h;
  });
}

cudnnDataType_t data_type(DType t) {
  QN_CHECK(t == DType::f32 || t == DType::f64, kOp, "expected f32 or f64 tensors on the GPU, got ", dtype_name(t));
  return t == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
}

int as_int(int64_t v) {
  QN_CHECK(v <= std::numeric_limits<int>::max(), kOp, "size ", v, " exceeds cuDNN's 32-bit sizes");
  return static_cast<int>(v);
}

// The descriptors of one convolution: input (N, C, H, W), filter (O, C / groups, KH, KW), output, and the
// convolution itself (symmetric padding, stride, dilation, groups).
class Descriptors {
 public:
  Descriptors(const Shape& input, const Shape& weight, const Shape& output, const Conv2dParams& p, DType dtype) {
    const cudnnDataType_t type = data_type(dtype);
    check_cudnn(cudnnCreateTensorDescriptor(&x), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateFilterDescriptor(&w), "cudnnCreateFilterDescriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, type, as_int(input[0]), as_int(input[1]),
                                           as_int(input[2]), as_int(input[3])),
                "cudnnSetTensor4dDescriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, type, as_int(output[0]), as_int(output[1]),
                                           as_int(output[2]), as_int(output[3])),
                "cudnnSetTensor4dDescriptor");
    check_cudnn(cudnnSetFilter4dDescriptor(w, type, CUDNN_TENSOR_NCHW, as_int(weight[0]), as_int(weight[1]),
                                           as_int(weight[2]), as_int(weight[3])),
                "cudnnSetFilter4dDescriptor");
    check_cudnn(cudnnSetConvolution2dDescriptor(conv, as_int(p.padding[0]), as_int(p.padding[2]), as_int(p.stride[0]),
                                                as_int(p.stride[1]), as_int(p.dilation[0]), as_int(p.dilation[1]),
                                                CUDNN_CROSS_CORRELATION, type),
                "cudnnSetConvolution2dDescriptor");
    check_cudnn(cudnnSetConvolutionGroupCount(conv, as_int(p.groups)), "cudnnSetConvolutionGroupCount");
    const bool tf32 = dtype == DType::f32 && allow_tf32();
    check_cudnn(cudnnSetConvolutionMathType(conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
                "cudnnSetConvolutionMathType");
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
};

// The cache key of a convolution: pass, device, shapes, parameters, dtype and math.
std::string key_of(const char* pass, int device, const Shape& input, const Shape& weight, const Conv2dParams& p,
                   DType dtype) {
  return detail::concat(pass, device, input, weight, p.padding[0], ",", p.padding[2], ",", p.stride[0], ",",
                        p.stride[1], ",", p.dilation[0], ",", p.dilation[1], ",", p.groups, dtype_name(dtype),
                        allow_tf32(), deterministic_algorithms());
}

// The chosen entry of cuDNN's ranked candidates for this dtype; an error names the pass when none qualifies.
template <class Perf>
ConvChoice pick(const std::vector<Perf>& ranked, const char* pass, DType dtype) {
  const std::optional<ConvChoice> choice =
      choose_algorithm(ranked, kMaxWorkspace, dtype == DType::f32 && !allow_tf32(), deterministic_algorithms());
  QN_CHECK(choice.has_value(), kOp, "cuDNN offers no ", pass, " algorithm for this convolution");
  return *choice;
}

// The descriptor's math type as the chosen entry was ranked (PyTorch does the same): cuDNN may otherwise run the
// algorithm with other math, or refuse it.
void set_math(const cudnnConvolutionDescriptor_t conv, const ConvChoice& choice) {
  check_cudnn(cudnnSetConvolutionMathType(conv, choice.math), "cudnnSetConvolutionMathType");
}

// Runs find() (a cuDNN heuristic query returning ranked candidates) once per key.
template <class Find>
ConvChoice cached_choice(const std::string& key, const Find& find) {
  static std::mutex mutex;
  static auto* choices = new std::map<std::string, ConvChoice>();
  {
    std::lock_guard lock(mutex);
    if (const auto found = choices->find(key); found != choices->end()) return found->second;
  }
  const ConvChoice choice = find();
  std::lock_guard lock(mutex);
  choices->emplace(key, choice);
  return choice;
}

Tensor workspace(size_t bytes, Device device) {
  return empty({static_cast<int64_t>(bytes)}, TensorOptions(DType::u8, device));
}

// Symmetric padding for cuDNN: p itself, or with the padding moved into an explicitly padded input.
bool needs_explicit_padding(const Conv2dParams& p) {
  return p.padding[0] != p.padding[1] || p.padding[2] != p.padding[3];
}

Shape padded_shape(const Shape& input, const Conv2dParams& p) {
  return {input[0], input[1], input[2] + p.padding[0] + p.padding[1], input[3] + p.padding[2] + p.padding[3]};
}

// The (H, W) window of a padded input that holds the original.
Tensor interior(const Tensor& padded, const Shape& input, const Conv2dParams& p) {
  return padded.slice(2, p.padding[0], p.padding[0] + input[2]).slice(3, p.padding[2], p.padding[2] + input[3]);
}

// input with p's padding written out as zeros.
Tensor explicitly_padded(const Tensor& input, const Conv2dParams& p) {
  Tensor padded = zeros(padded_shape(input.shape(), p), input.options());
  interior(padded, input.shape(), p).copy_(input);
  return padded;
}

Conv2dParams unpadded(const Conv2dParams& p) {
  Conv2dParams q = p;
  q.padding = {0, 0, 0, 0};
  return q;
}

void run_forward(const Tensor& input, const Tensor& weight, const Conv2dParams& p, Tensor& out) {
  const int device = out.device().index;
  ::qn::cuda::DeviceGuard guard(device);
  cudnnHandle_t h = handle(device);
  const Descriptors d(input.shape(), weight.shape(), out.shape(), p, input.dtype());
  const ConvChoice choice = cached_choice(key_of("fwd", device, input.shape(), weight.shape(), p, input.dtype()), [&] {
    int count = 0;
    check_cudnn(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count), "cudnnGetConvolutionForwardAlgorithmMaxCount");
    std::vector<cudnnConvolutionFwdAlgoPerf_t> ranked(static_cast<size_t>(count));
    check_cudnn(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, count, &count, ranked.data()),
                "cudnnGetConvolutionForwardAlgorithm_v7");
    ranked.resize(static_cast<size_t>(count));
    return pick(ranked, "forward", input.dtype());
  });
  set_math(d.conv, choice);
  const Tensor scratch = workspace(choice.workspace, out.device());
  const BlendScalars blend(input.dtype());
  check_cudnn(cudnnConvolutionForward(h, blend.one(), d.x, input.device_data(), d.w, weight.device_data(), d.conv,
                                      static_cast<cudnnConvolutionFwdAlgo_t>(choice.algo), scratch.device_data(),
                                      choice.workspace, blend.zero(), d.y, out.device_data()),
              "cudnnConvolutionForward");
}

void add_bias(const Tensor& bias, Tensor& out) {
  const int device = out.device().index;
  cudnnHandle_t h = handle(device);
  const cudnnDataType_t type = data_type(out.dtype());
  cudnnTensorDescriptor_t b = nullptr, y = nullptr;
  check_cudnn(cudnnCreateTensorDescriptor(&b), "cudnnCreateTensorDescriptor");
  check_cudnn(cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor");
  check_cudnn(cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NCHW, type, 1, as_int(out.size(1)), 1, 1),
              "cudnnSetTensor4dDescriptor");
  check_cudnn(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, type, as_int(out.size(0)), as_int(out.size(1)),
                                         as_int(out.size(2)), as_int(out.size(3))),
              "cudnnSetTensor4dDescriptor");
  const BlendScalars blend(out.dtype());
  const cudnnStatus_t status = cudnnAddTensor(h, blend.one(), b, bias.device_data(), blend.one(), y, out.device_data());
  cudnnDestroyTensorDescriptor(b);
  cudnnDestroyTensorDescriptor(y);
  check_cudnn(status, "cudnnAddTensor");
}

}  // namespace

void conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  if (out.numel() == 0) return;
  ::qn::cuda::DeviceGuard guard(out.device().index);
  if (needs_explicit_padding(p)) {
    run_forward(explicitly_padded(input, p), weight, unpadded(p), out);
  } else {
    run_forward(input, weight, p, out);
  }
  if (bias.defined()) add_bias(bias, out);
}

void conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& p, Tensor& dx) {
  if (dx.numel() == 0) return;
  if (needs_explicit_padding(p)) {
    Tensor padded_dx = empty(padded_shape(dx.shape(), p), dx.options());
    conv2d_backward_input(grad_out, weight, unpadded(p), padded_dx);
    dx.copy_(interior(padded_dx, dx.shape(), p));
    return;
  }
  const int device = dx.device().index;
  ::qn::cuda::DeviceGuard guard(device);
  cudnnHandle_t h = handle(device);
  const Descriptors d(dx.shape(), weight.shape(), grad_out.shape(), p, dx.dtype());
  const ConvChoice choice = cached_choice(key_of("bwd_data", device, dx.shape(), weight.shape(), p, dx.dtype()), [&] {
    int count = 0;
    check_cudnn(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count),
                "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> ranked(static_cast<size_t>(count));
    check_cudnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, count, &count, ranked.data()),
                "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    ranked.resize(static_cast<size_t>(count));
    return pick(ranked, "backward-data", dx.dtype());
  });
  set_math(d.conv, choice);
  const Tensor scratch = workspace(choice.workspace, dx.device());
  const BlendScalars blend(dx.dtype());
  check_cudnn(
      cudnnConvolutionBackwardData(h, blend.one(), d.w, weight.device_data(), d.y, grad_out.device_data(), d.conv,
                                   static_cast<cudnnConvolutionBwdDataAlgo_t>(choice.algo), scratch.device_data(),
                                   choice.workspace, blend.zero(), d.x, dx.device_data()),
      "cudnnConvolutionBackwardData");
}

void conv2d_backward_weight(const Tensor& grad_out, const Tensor& input, const Conv2dParams& p, Tensor& dw) {
  if (dw.numel() == 0) return;
  if (needs_explicit_padding(p)) {
    conv2d_backward_weight(grad_out, explicitly_padded(input, p), unpadded(p), dw);
    return;
  }
  const int device = dw.device().index;
  ::qn::cuda::DeviceGuard guard(device);
  cudnnHandle_t h = handle(device);
  const Descriptors d(input.shape(), dw.shape(), grad_out.shape(), p, input.dtype());
  const ConvChoice choice =
      cached_choice(key_of("bwd_filter", device, input.shape(), dw.shape(), p, input.dtype()), [&] {
        int count = 0;
        check_cudnn(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count),
                    "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
        std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> ranked(static_cast<size_t>(count));
        check_cudnn(
            cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, count, &count, ranked.data()),
            "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
        ranked.resize(static_cast<size_t>(count));
        return pick(ranked, "backward-filter", input.dtype());
      });
  set_math(d.conv, choice);
  const Tensor scratch = workspace(choice.workspace, dw.device());
  const BlendScalars blend(dw.dtype());
  check_cudnn(
      cudnnConvolutionBackwardFilter(h, blend.one(), d.x, input.device_data(), d.y, grad_out.device_data(), d.conv,
                                     static_cast<cudnnConvolutionBwdFilterAlgo_t>(choice.algo), scratch.device_data(),
                                     choice.workspace, blend.zero(), d.w, dw.device_data()),
      "cudnnConvolutionBackwardFilter");
}

}  // namespace qn::kernels::cuda
