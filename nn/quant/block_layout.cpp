#include "nn/quant/block_layout.h"

#include "autograd/ops.h"

namespace qn::nn::quant {

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::kLinear:
      return "Linear";
    case LayerKind::kEmbedding:
      return "Embedding";
    case LayerKind::kConv2d:
      return "Conv2d";
  }
  return "?";
}

BlockLayout BlockLayout::of(LayerKind kind, const Shape& shape, int64_t block_size) {
  const char* name = layer_kind_name(kind);
  QN_CHECK(block_size > 0, name, "block size must be positive, got ", block_size);
  BlockLayout layout;
  layout.kind = kind;
  layout.weight_shape = shape;
  layout.block_size = block_size;
  if (kind == LayerKind::kConv2d) {
    QN_CHECK(shape.size() == 4, name, "expected a weight (out, in/groups, kh, kw), got ", shape);
    layout.rows = shape[0];
    layout.kernel_area = shape[2] * shape[3];
    layout.row_size = shape[1] * layout.kernel_area;
    const int64_t area = layout.kernel_area;
    QN_CHECK(area % block_size == 0 || block_size % area == 0, name, "block size ", block_size,
             " neither divides nor is a multiple of the kernel area ", shape[2], "x", shape[3], " = ", area);
    QN_CHECK(layout.row_size % block_size == 0, name, "block size ", block_size,
             " must divide in_channels/groups * kh * kw = ", layout.row_size);
  } else {
    QN_CHECK(shape.size() == 2, name, "expected a 2-d weight, got ", shape);
    layout.rows = shape[0];
    layout.row_size = shape[1];
    QN_CHECK(layout.row_size % block_size == 0, name, "block size ", block_size, " must divide ",
             kind == LayerKind::kLinear ? "in_features " : "embedding_dim ", layout.row_size);
  }
  return layout;
}

// (rows, row_size) -> (rows, blocks_per_row, bs) -> (blocks_per_row, rows, bs) -> (num_blocks, bs)
Tensor to_blocks(const Tensor& weight, const BlockLayout& layout) {
  QN_CHECK(weight.shape() == layout.weight_shape, "to_blocks", "expected a weight of shape ", layout.weight_shape,
           ", got ", weight.shape());
  const Tensor rows = reshape(weight, {layout.rows, layout.blocks_per_row(), layout.block_size});
  return reshape(permute(rows, {1, 0, 2}), {layout.num_blocks(), layout.block_size});
}

Tensor from_blocks(const Tensor& blocks, const BlockLayout& layout) {
  QN_CHECK(blocks.shape() == Shape({layout.num_blocks(), layout.block_size}), "from_blocks", "expected blocks (",
           layout.num_blocks(), ", ", layout.block_size, "), got ", blocks.shape());
  const Tensor by_block = reshape(blocks, {layout.blocks_per_row(), layout.rows, layout.block_size});
  return reshape(permute(by_block, {1, 0, 2}), layout.weight_shape);
}

}  // namespace qn::nn::quant
