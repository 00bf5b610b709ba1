// What the sequence models derive from their token ids alone: padding masks and position ids in fairseq's
// convention (shared by the language model and RoBERTa), and fairseq's sinusoidal position table.
#pragma once

#include <vector>

#include "core/generator.h"

namespace qn::models {

// tokens (N, T) i64 -> u8 (N, T), 1 at padding; undefined when nothing is padding (the common case, which
// then costs attention nothing).
Tensor padding_mask(const Tensor& tokens, int64_t padding_idx);

// tokens (N, T) i64 -> i64 (N, T): padding_idx + 1 + (non-padding tokens before t) for a token, padding_idx
// for padding (fairseq's make_positions, Hugging Face's create_position_ids_from_input_ids).
Tensor position_ids(const Tensor& tokens, int64_t padding_idx);

// fairseq's SinusoidalPositionalEmbedding: row p = [sin(p w_0) .. sin(p w_{h-1}), cos(p w_0) .. cos(p w_{h-1})],
// h = dim / 2, w_i = 10000^(-i / (h - 1)), a zero last column when dim is odd, row padding_idx zero.
// The table's rows 0 .. rows-1 (f32, a constant; models build it once), and its rows for positions
// (...) i64 -> (..., dim).
Tensor sinusoidal_table(int64_t rows, int64_t dim, int64_t padding_idx);
Tensor sinusoidal_embedding(const Tensor& positions, int64_t dim, int64_t padding_idx);

// LayerDrop (fairseq's LayerDropModuleList): which of `layers` layers run this forward. In training with
// rate > 0, one uniform draw per layer from the global generator, the layer kept when its draw exceeds the
// rate; otherwise all.
std::vector<bool> layers_kept(int64_t layers, double rate, bool training);

}  // namespace qn::models
