// The CUDA kernels behind kernels/*.h, mirroring kernels/cpu/cpu_kernels.h: arguments arrive validated and on one
// device, outputs allocated there with their final shape; these only compute, queued on the device's stream.
// A build without CUDA links kernels/cuda/no_cuda.cpp instead, whose functions throw (no CUDA tensor can exist
// there, so the dispatch never reaches them).
#pragma once

#include <optional>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/cpu_kernels.h"  // the enums and parameter structs both backends take
#include "kernels/elementwise.h"

namespace qn::kernels::cuda {

void unary(UnaryOp op, const Tensor& x, Tensor& out);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void add_scaled(const Tensor& a, const Tensor& b, double alpha, Tensor& out);
void compare(CompareOp op, const Tensor& a, const Tensor& b, Tensor& out);
void clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi, Tensor& out);
void where(const Tensor& condition, const Tensor& a, const Tensor& b, Tensor& out);
void masked_scale(const Tensor& x, const Tensor& keep, double scale, Tensor& out);

// out (contiguous, kept dims of x in order) = reduction of x over the dims flagged in reduce.
void reduce(cpu::Reduction op, const Tensor& x, const std::vector<bool>& reduce, Tensor& out);
void argmax(const Tensor& x, int dim, Tensor& out);

void softmax(const Tensor& x, int dim, bool log, Tensor& out);
void layer_norm(const Tensor& x, int64_t rows, int64_t cols, const Tensor& weight, const Tensor& bias, double eps,
                Tensor& out, Tensor& mean, Tensor& rstd);

// Cross-entropy on log-probabilities (N, C) with targets (N) i64 already checked (kernels/loss.cpp).
void nll_with_smoothing(const Tensor& log_probs, const Tensor& targets, std::optional<int64_t> ignore_index,
                        double smoothing, Tensor& losses);
void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, const Tensor& weights,
                            std::optional<int64_t> ignore_index, double smoothing, Tensor& grad);

// Indexing (kernels/index.h); indices checked in bounds.
void index_select(const Tensor& x, int dim, const Tensor& index, Tensor& out);
void gather(const Tensor& x, int dim, const Tensor& index, Tensor& out);
void scatter_add(int dim, const Tensor& index, const Tensor& src, Tensor& out);
// ordered: sum repeated indices in position order, as the CPU does (kernels/determinism.h), rather than by atomics.
void index_add(int dim, const Tensor& index, const Tensor& src, Tensor& out, bool ordered);

// 2-D pooling on contiguous NCHW; dx arrives zeroed.
void max_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out, Tensor& indices);
void avg_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out);
void adaptive_avg_pool2d(const Tensor& x, Tensor& out);
void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, Tensor& dx);
void avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, Tensor& dx);
void adaptive_avg_pool2d_backward(const Tensor& grad_out, Tensor& dx);

// BatchNorm (kernels/batch_norm.h); x and grad contiguous, per-channel tensors (C).
void batch_norm_moments(const Tensor& x, Tensor& mean, Tensor& var);
void batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                        const Tensor& bias, Tensor& out);
void batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias);

// Convolution on cuDNN (any groups); contiguous operands, dx and dw overwritten.
void conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p, Tensor& out);
void conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& p, Tensor& dx);
void conv2d_backward_weight(const Tensor& grad_out, const Tensor& input, const Conv2dParams& p, Tensor& dw);

// Scalar quantization noise (kernels/quant.h) on contiguous x; k-means and min/max on a GPU are composed from the
// other kernels in kernels/quant.cpp.
void scalar_quant_noise(const Tensor& x, const QParams& q, const Tensor& uniform, double p, Tensor& value,
                        Tensor& pass);

// out (batch..., M, N) = a (batch..., M, K) @ b (batch..., K, N); a, b already expanded to out's batch.
void matmul(const Tensor& a, const Tensor& b, Tensor& out);

// Fused optimizer steps (kernels/optimizer.h): one pass over a contiguous parameter, its gradient and state.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const AdamStep& step);
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStep& step);
void nag_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const NagStep& step);
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& momentum_buffer,
                  const RmsPropStep& step);

}  // namespace qn::kernels::cuda
