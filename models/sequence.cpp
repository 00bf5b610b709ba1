#include "models/sequence.h"

#include <cmath>

#include "autograd/ops.h"

namespace qn::models {
namespace {

void check_tokens(const Tensor& tokens, const char* who) {
  QN_CHECK(tokens.dim() == 2 && tokens.dtype() == DType::i64, who, "expected token ids i64 (N, T), got ",
           tokens.describe());
}

}  // namespace

Tensor padding_mask(const Tensor& tokens, int64_t padding_idx) {
  check_tokens(tokens, "padding_mask");
  const Tensor ids = tokens.to_host().contiguous();  // the batch's host copy; the mask goes to tokens' device
  Tensor mask = zeros(ids.shape(), DType::u8);
  const int64_t* id = ids.data_ptr<int64_t>();
  uint8_t* out = mask.data_ptr<uint8_t>();
  bool any = false;
  for (int64_t i = 0; i < ids.numel(); ++i) {
    out[i] = id[i] == padding_idx ? 1 : 0;
    any = any || out[i];
  }
  return any ? mask.to(tokens.device()) : Tensor{};
}

Tensor position_ids(const Tensor& tokens, int64_t padding_idx) {
  check_tokens(tokens, "position_ids");
  const Tensor ids = tokens.to_host().contiguous();
  Tensor positions = empty(ids.shape(), DType::i64);
  const int64_t* id = ids.data_ptr<int64_t>();
  int64_t* out = positions.data_ptr<int64_t>();
  const int64_t rows = ids.size(0), length = ids.size(1);
  for (int64_t n = 0; n < rows; ++n) {
    int64_t seen = 0;
    for (int64_t t = 0; t < length; ++t) {
      const int64_t i = n * length + t;
      out[i] = id[i] == padding_idx ? padding_idx : padding_idx + ++seen;
    }
  }
  return positions.to(tokens.device());
}

Tensor sinusoidal_table(int64_t rows, int64_t dim, int64_t padding_idx) {
  QN_CHECK(rows > padding_idx && dim >= 4, "sinusoidal_table", "expected more than padding_idx ", padding_idx,
           " rows and dim >= 4, got ", rows, " rows of ", dim);
  const int64_t half = dim / 2;
  // In f32 as fairseq computes it: the angle's rounding shows at long positions, and fairseq checkpoints
  // were trained on exactly these values.
  std::vector<float> frequency(static_cast<size_t>(half));
  const auto step = static_cast<float>(std::log(10000.0) / static_cast<double>(half - 1));
  for (int64_t i = 0; i < half; ++i) frequency[static_cast<size_t>(i)] = std::exp(static_cast<float>(i) * -step);
  Tensor table = zeros({rows, dim}, DType::f32);
  float* out = table.data_ptr<float>();
  for (int64_t p = 0; p < rows; ++p) {
    if (p == padding_idx) continue;
    float* row = out + p * dim;
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(p) * frequency[static_cast<size_t>(i)];
      row[i] = std::sin(angle);
      row[half + i] = std::cos(angle);
    }
  }
  return table;
}

Tensor sinusoidal_embedding(const Tensor& positions, int64_t dim, int64_t padding_idx) {
  QN_CHECK(positions.dtype() == DType::i64, "sinusoidal_embedding", "expected i64 positions, got ",
           positions.describe());
  const int64_t rows = amax(positions.to_host()).item<int64_t>() + 1;  // from the host copy position_ids keeps
  return embedding(sinusoidal_table(rows, dim, padding_idx).to(positions.device()), positions);
}

std::vector<bool> layers_kept(int64_t layers, double rate, bool training) {
  std::vector<bool> kept(static_cast<size_t>(layers), true);
  if (!training || rate <= 0) return kept;
  const Tensor draw = rand({layers}, DType::f64);
  for (int64_t l = 0; l < layers; ++l) kept[static_cast<size_t>(l)] = draw.data_ptr<double>()[l] > rate;
  return kept;
}

}  // namespace qn::models
