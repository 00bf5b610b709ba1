// How a weight is cut into blocks (PQ sub-vectors, and the unit of Quant-Noise), docs/METHOD.md, Quant-Noise and
// product quantization.
//
// Each row of the weight is flattened — Linear (out, in): a row of `in`; Embedding (num, dim): a row of
// `dim`; Conv2d (out, in/g, kh, kw): one filter in (in, kh, kw) order — and cut into consecutive chunks
// of block_size. Block (r, j) is row r, elements [j bs, (j + 1) bs). In the blocks matrix (num_blocks,
// bs) it sits at index j * rows + r (block-major, row-minor), the order fairseq and kill-the-bits store
// sub-vectors in, so codes and centroids move between them unchanged.
//
// For a kxk convolution a block must not cut a kernel in parts of different sizes: block_size divides
// kh kw (a block inside one kernel) or kh kw divides block_size (whole kernels). That admits the paper's
// small (9) and large (18) 3x3 blocks and rejects 4 on a 3x3 kernel, as fairseq does.
#pragma once

#include <string>

#include "core/tensor.h"

namespace qn::nn::quant {

enum class LayerKind { kLinear, kEmbedding, kConv2d };
const char* layer_kind_name(LayerKind kind);

struct BlockLayout {
  // Checks the geometry and throws qn::Error naming what does not divide what.
  static BlockLayout of(LayerKind kind, const Shape& weight_shape, int64_t block_size);

  LayerKind kind = LayerKind::kLinear;
  Shape weight_shape;
  int64_t rows = 0;         // out_features, num_embeddings or out_channels
  int64_t row_size = 0;     // in_features, embedding_dim or in/groups * kh * kw
  int64_t kernel_area = 1;  // kh * kw for a convolution
  int64_t block_size = 0;

  int64_t blocks_per_row() const { return row_size / block_size; }
  int64_t num_blocks() const { return rows * blocks_per_row(); }
};

// weight -> blocks (num_blocks, block_size) in the order above, and back; both differentiable.
Tensor to_blocks(const Tensor& weight, const BlockLayout& layout);
Tensor from_blocks(const Tensor& blocks, const BlockLayout& layout);

}  // namespace qn::nn::quant
