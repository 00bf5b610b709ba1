// The CPU kernels behind kernels/*.h. Arguments arrive validated, outputs allocated with their final
// shape; these only compute. (CUDA kernels mirror this list in kernels/cuda/.)
#pragma once

#include <optional>

#include "core/tensor.h"
#include "kernels/attention.h"
#include "kernels/batch_norm.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/optimizer_math.h"
#include "kernels/pool.h"
#include "kernels/quant.h"

namespace qn::kernels::cpu {

void unary(UnaryOp op, const Tensor& x, Tensor& out);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void add_scaled(const Tensor& a, const Tensor& b, double alpha, Tensor& out);
void compare(CompareOp op, const Tensor& a, const Tensor& b, Tensor& out);
void clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi, Tensor& out);
void where(const Tensor& condition, const Tensor& a, const Tensor& b, Tensor& out);
void masked_scale(const Tensor& x, const Tensor& keep, double scale, Tensor& out);

enum class Reduction { sum, max, min };
// out (contiguous, kept dims of x in order) = reduction of x over the dims flagged in reduce.
void reduce(Reduction op, const Tensor& x, const std::vector<bool>& reduce, Tensor& out);
// a, b contiguous (R, L) -> out (R).
void row_dots(const Tensor& a, const Tensor& b, Tensor& out);
void argmax(const Tensor& x, int dim, Tensor& out);

// out (batch..., M, N) = a (batch..., M, K) @ b (batch..., K, N); a, b already expanded to out's batch.
void matmul(const Tensor& a, const Tensor& b, Tensor& out);

void softmax(const Tensor& x, int dim, bool log, Tensor& out);
void layer_norm(const Tensor& x, int64_t rows, int64_t cols, const Tensor& weight, const Tensor& bias, double eps,
                Tensor& out, Tensor& mean, Tensor& rstd);
// BatchNorm (kernels/batch_norm.h); x and grad contiguous, per-channel tensors (C).
// Returns the count of values per channel (summed over processes when synchronized).
double batch_norm_moments(const Tensor& x, Tensor& mean, Tensor& var, const SumOverProcesses& sum_over_processes);
void batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                        const Tensor& bias, NormActivation activation, Tensor& out);
void batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, const Tensor& bias, NormActivation activation, bool training,
                         Tensor& dx, Tensor& dweight, Tensor& dbias, const SumOverProcesses& sum_over_processes);

// losses[i] = -((1 - s) lp[i, t_i] + (s / C) sum_c lp[i, c]), 0 where t_i is ignored; returns the count
// of targets not ignored.
int64_t nll_with_smoothing(const Tensor& log_probs, const Tensor& targets, std::optional<int64_t> ignore_index,
                           double smoothing, Tensor& losses);
void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, const Tensor& weights,
                            std::optional<int64_t> ignore_index, double smoothing, Tensor& grad);

void index_select(const Tensor& x, int dim, const Tensor& index, Tensor& out);
void gather(const Tensor& x, int dim, const Tensor& index, Tensor& out);
void scatter_add(int dim, const Tensor& index, const Tensor& src, Tensor& out);
void index_add(int dim, const Tensor& index, const Tensor& src, Tensor& out);

// Convolution by im2col + GEMM (any groups), and the direct depthwise kernels (one input channel per group);
// kernels/conv.cpp picks one. Backward: dx and dw are overwritten, whatever they held.
void conv2d_im2col(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p, Tensor& out);
void conv2d_im2col_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& p, Tensor& dx);
void conv2d_im2col_backward_weight(const Tensor& grad_out, const Tensor& input, const Conv2dParams& p, Tensor& dw);
void conv2d_depthwise(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                      Tensor& out);
void conv2d_depthwise_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& p, Tensor& dx);
void conv2d_depthwise_backward_weight(const Tensor& grad_out, const Tensor& input, const Conv2dParams& p, Tensor& dw);

void max_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out, Tensor& indices);
void avg_pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out);
void adaptive_avg_pool2d(const Tensor& x, Tensor& out);
// dx arrives zeroed.
void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, Tensor& dx);
void avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, Tensor& dx);
void adaptive_avg_pool2d_backward(const Tensor& grad_out, Tensor& dx);

// Fused attention (kernels/attention.h): out and dq, dk, dv arrive allocated, weights (N, H, L, S) contiguous.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const FusedAttention& a, Tensor& weights,
                       Tensor& out);
void attention_backward(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& weights,
                        const FusedAttention& a, Tensor& dq, Tensor& dk, Tensor& dv);

// Row-major GEMM: C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, for float or double.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);

void scalar_quant_noise(const Tensor& x, const QParams& q, const Tensor& uniform, double p, Tensor& value,
                        Tensor& pass);
MinMax min_max(const Tensor& x, bool per_channel);
void nearest_centroid(const Tensor& points, const Tensor& centroids, Tensor& out);
double assignment_error(const Tensor& points, const Tensor& centroids, const Tensor& assignments);

// Fused optimizer steps (kernels/optimizer.h): one pass over a contiguous parameter, its gradient and state.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const AdamStep& step);
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStep& step);
void nag_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const NagStep& step);
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& momentum_buffer,
                  const RmsPropStep& step);

}  // namespace qn::kernels::cpu
