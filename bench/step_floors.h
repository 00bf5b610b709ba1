// Limits a training step cannot beat on this machine, measured in the same process as the step (bench_models),
// so that their ratio does not move with the neighbours' load:
// - the GEMM floor of a Transformer step: the matrix products its forward and backward must compute, written
//   out from the model's shapes (not recorded from the engine) and run back to back on preallocated buffers;
// - the memory-traffic floor of an EfficientNet step: the bytes its activations, gradients, parameters and Adam
//   moments must cross between DRAM and the cores, over a 2-thread STREAM triad's bandwidth.
// bench/README.md says how each is counted and why.
#pragma once

#include <cstdint>
#include <vector>

namespace qn::bench {

// One row-major C (m x n) = op(A) (m x k) * op(B) (k x n), `batch` times on distinct matrices, `repeats` times.
struct Gemm {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  int64_t repeats = 1;
  double flops() const { return 2.0 * static_cast<double>(m * n * k * batch * repeats); }
};

struct TransformerShape {
  int64_t rows = 8, length = 256;  // a batch of rows x length tokens
  int64_t dim = 512, heads = 8, ffn = 2048, layers = 6, vocab = 32000;
  int64_t scored = 0;     // tokens the output layer scores: 0 for every token (a language model), else MLM's masked
  bool mlm_head = false;  // RoBERTa's dense layer (dim x dim) before the output layer, on the scored tokens
};

// The products of forward + backward: each Linear's y = x W^T, dx = dy W, dW = dy^T x; attention's S = Q K^T,
// O = P V and their four gradients per (row, head); the tied output layer's logits, dh and dE.
std::vector<Gemm> transformer_step_gemms(const TransformerShape& shape);

// Runs a list of products on buffers it allocates once (one set per list entry, so a step's operands are not all
// the same cache lines). Products under kSmallGemmFlops run one matrix per thread, each single-threaded, as the
// engine runs its batched attention products; larger ones run one at a time on OpenBLAS's threads.
class GemmFloor {
 public:
  explicit GemmFloor(std::vector<Gemm> gemms);
  void run();
  double flops() const;

 private:
  struct Buffers {
    std::vector<float> a, b, c;
  };
  std::vector<Gemm> gemms_;
  std::vector<Buffers> buffers_;
};

// Bytes per second of a[i] = b[i] + s * c[i] over three arrays of `floats` floats on every thread of the pool
// (12 bytes per element, as STREAM counts it), the best of `trials`.
double stream_triad_bandwidth(int64_t floats, int trials);

struct EfficientNetShape {
  double width = 1.0, depth = 1.0;
  int64_t batch = 8, resolution = 224, in_channels = 3, stem_stride = 2, classes = 1000;
  bool drop_connect = true;  // stochastic depth on the residual branches (its mask-scaled output is one more map)
};

struct TrafficCount {
  int64_t activation_floats = 0;  // every layer's output over the batch
  int64_t parameters = 0;
  int64_t input_floats = 0;
  // Each activation written in forward, read in backward, its gradient written and read (16 bytes a float); each
  // parameter, its gradient and Adam's two moments read and written (32 bytes); the images read once.
  double bytes() const;
};

// The step's minimum DRAM traffic from the architecture's table (the B0 stages scaled by width and depth).
TrafficCount efficientnet_step_traffic(const EfficientNetShape& shape);

}  // namespace qn::bench
