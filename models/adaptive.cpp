#include "models/adaptive.h"

#include <cmath>

#include "nn/dropout.h"
#include "nn/init.h"

namespace qn::models {
namespace {

// Rows of a (M) i64 tensor of token ids grouped by band: the positions holding each band's ids and those
// ids relative to the band's start. Checks every id.
struct BandRows {
  std::vector<std::vector<int64_t>> positions, relative;
};

BandRows group_by_band(const Tensor& ids, const std::vector<int64_t>& bands, const char* who) {
  const Tensor flat = ids.to_host().contiguous().reshape({-1});  // the batch's host copy
  const int64_t* id = flat.data_ptr<int64_t>();
  const size_t num_bands = bands.size() - 1;
  BandRows rows;
  rows.positions.resize(num_bands);
  rows.relative.resize(num_bands);
  for (int64_t m = 0; m < flat.numel(); ++m) {
    QN_CHECK(id[m] >= 0 && id[m] < bands.back(), who, "token id ", id[m], " at position ", m,
             " is outside the vocabulary [0, ", bands.back(), ")");
    size_t band = 0;
    while (id[m] >= bands[band + 1]) ++band;
    rows.positions[band].push_back(m);
    rows.relative[band].push_back(id[m] - bands[band]);
  }
  return rows;
}

// An i64 index tensor of values on device.
Tensor index_tensor(const std::vector<int64_t>& values, Device device) { return from_vector(values).to(device); }

// A Linear without bias, Xavier-uniform (fairseq's initialisation of every adaptive projection).
std::shared_ptr<nn::Linear> xavier_projection(int64_t in, int64_t out, const nn::quant::QuantNoise& noise) {
  auto layer = std::make_shared<nn::Linear>(nn::LinearOptions(in, out).bias(false).quant_noise(noise));
  nn::init::xavier_uniform_(layer->weight);
  return layer;
}

}  // namespace

std::vector<int64_t> AdaptiveOptions::bands() const {
  std::vector<int64_t> out{0};
  for (const int64_t c : cutoffs) {
    QN_CHECK(c > out.back(), "Adaptive", "cutoffs must increase from above 0, got ", c, " after ", out.back());
    out.push_back(c);
  }
  QN_CHECK(vocab_size > out.back(), "Adaptive", "the last cutoff ", out.back(), " must lie below the vocabulary ",
           vocab_size);
  out.push_back(vocab_size);
  return out;
}

int64_t AdaptiveOptions::band_width(size_t band) const {
  const auto width = static_cast<int64_t>(static_cast<double>(dim) / std::pow(factor, static_cast<double>(band)));
  QN_CHECK(width >= 1, "Adaptive", "band ", band, " of width ", dim, " / ", factor, "^", band, " is empty");
  return width;
}

// --- AdaptiveInput

// Tables N(0, width^-1/2) with the padding row zero, projections Xavier-uniform (fairseq's init_weights).
AdaptiveInput::AdaptiveInput(const AdaptiveOptions& o) : Module("AdaptiveInput"), options(o), bands_(o.bands()) {
  embeddings_ = register_module("embeddings", std::make_shared<nn::ModuleList<nn::Sequential>>());
  for (size_t b = 0; b + 1 < bands_.size(); ++b) {
    const int64_t size = bands_[b + 1] - bands_[b], width = o.band_width(b);
    QN_CHECK(o.padding_idx >= 0 && o.padding_idx < size, "AdaptiveInput", "padding_idx ", o.padding_idx,
             " is not a row of band ", b, " (", size, " rows)");
    auto band = std::make_shared<nn::Sequential>();
    auto table =
        band->push_back(std::make_shared<nn::Embedding>(nn::EmbeddingOptions(size, width).padding_idx(o.padding_idx)));
    nn::init::normal_(table->weight, 0.0, 1.0 / std::sqrt(static_cast<double>(width)));
    {
      NoGradGuard no_grad;
      table->weight.select(0, o.padding_idx).fill_(0);
    }
    band->push_back(xavier_projection(width, o.dim, o.quant_noise));
    embeddings_->push_back(band);
  }
}

nn::Embedding& AdaptiveInput::table(size_t band) const { return static_cast<nn::Embedding&>((*embeddings_)[band][0]); }

nn::Linear& AdaptiveInput::projection(size_t band) const { return static_cast<nn::Linear&>((*embeddings_)[band][1]); }

// Each band embeds and projects its own tokens; the rows, gathered band by band, go back to token order.
Tensor AdaptiveInput::forward(const Tensor& tokens) {
  const BandRows rows = group_by_band(tokens, bands_, "AdaptiveInput");
  std::vector<Tensor> pieces;
  std::vector<int64_t> order;  // order[k]: the position of row k of cat(pieces)
  for (size_t b = 0; b < num_bands(); ++b) {
    if (rows.positions[b].empty()) continue;
    const Tensor ids = index_tensor(rows.relative[b], tokens.device());
    pieces.push_back(projection(b).forward(table(b).forward(ids)));
    order.insert(order.end(), rows.positions[b].begin(), rows.positions[b].end());
  }
  Shape out_shape = tokens.shape();
  out_shape.push_back(options.dim);
  if (pieces.size() == 1) return reshape(pieces[0], out_shape);  // one band: already in token order
  std::vector<int64_t> inverse(order.size());
  for (size_t k = 0; k < order.size(); ++k) inverse[static_cast<size_t>(order[k])] = static_cast<int64_t>(k);
  return reshape(index_select(cat(pieces, 0), 0, index_tensor(inverse, tokens.device())), out_shape);
}

// --- AdaptiveSoftmax

AdaptiveSoftmax::AdaptiveSoftmax(const AdaptiveOptions& o, std::shared_ptr<AdaptiveInput> tied, bool tie_projections)
    : Module("AdaptiveSoftmax"),
      options(o),
      bands_(o.bands()),
      tied_(std::move(tied)),
      tie_projections_(tie_projections) {
  QN_CHECK(!tie_projections || tied_, "AdaptiveSoftmax", "tying projections needs tied tables");
  QN_CHECK(o.padding_idx >= 0 && o.padding_idx < bands_[1], "AdaptiveSoftmax", "padding_idx ", o.padding_idx,
           " must lie in the first band [0, ", bands_[1], ")");
  QN_CHECK(!tied_ || tied_->options.bands() == bands_, "AdaptiveSoftmax",
           "the tied adaptive input has other bands than the softmax");
  const nn::quant::QuantNoise none;
  const auto tails = static_cast<int64_t>(bands_.size() - 2);
  if (tied_) {
    auto head = register_module("head", std::make_shared<nn::ModuleDict>());
    class_proj_ = head->add("class_proj", xavier_projection(o.dim, tails, none));
  } else {
    head_ = register_module("head", xavier_projection(o.dim, bands_[1] + tails, none));
  }
  auto tail = register_module("tail", std::make_shared<nn::ModuleDict>());
  for (size_t t = 0; t + 2 < bands_.size(); ++t) {
    auto slots = tail->add(std::to_string(t), std::make_shared<nn::ModuleDict>());
    const int64_t width = o.band_width(t + 1), size = bands_[t + 2] - bands_[t + 1];
    tail_projections_.push_back(tie_projections ? nullptr : slots->add("0", xavier_projection(o.dim, width, none)));
    tail_outputs_.push_back(tied_ ? nullptr : slots->add("2", xavier_projection(width, size, none)));
  }
}

Tensor AdaptiveSoftmax::head_logits(const Tensor& hidden) {
  if (head_) return head_->forward(hidden);
  const Tensor words = matmul(hidden, transpose(tied_->table(0).stored_weight(), 0, 1));  // (M, cutoff_0)
  return cat({words, class_proj_->forward(hidden)}, 1);
}

Tensor AdaptiveSoftmax::tail_logits(size_t t, const Tensor& rows) {
  // (R, dim) -> (R, width): tied, the band's projection (width -> dim) transposed.
  const Tensor reduced =
      tie_projections_ ? matmul(rows, tied_->projection(t + 1).stored_weight()) : tail_projections_[t]->forward(rows);
  const Tensor dropped = dropout(reduced, options.dropout, is_training());
  if (tail_outputs_[t]) return tail_outputs_[t]->forward(dropped);
  return matmul(dropped, transpose(tied_->table(t + 1).stored_weight(), 0, 1));
}

Tensor AdaptiveSoftmax::log_probs(const Tensor& hidden) {
  QN_CHECK(hidden.dim() == 2 && hidden.size(1) == options.dim, "AdaptiveSoftmax", "expected hidden (M, ", options.dim,
           "), got ", hidden.describe());
  const int64_t head_words = bands_[1];
  const Tensor head = log_softmax(head_logits(hidden), 1);
  std::vector<Tensor> pieces{narrow(head, 1, 0, head_words)};
  for (size_t t = 0; t + 2 < bands_.size(); ++t) {
    const Tensor prior = narrow(head, 1, head_words + static_cast<int64_t>(t), 1);  // (M, 1)
    pieces.push_back(add(log_softmax(tail_logits(t, hidden), 1), prior));
  }
  return cat(pieces, 1);
}

Tensor AdaptiveSoftmax::nll_sum(const Tensor& hidden, const Tensor& targets) {
  QN_CHECK(hidden.dim() == 2 && hidden.size(1) == options.dim && targets.dim() == 1 &&
               targets.size(0) == hidden.size(0) && targets.dtype() == DType::i64,
           "AdaptiveSoftmax", "expected hidden (M, ", options.dim, ") and targets i64 (M), got ", hidden.describe(),
           " and ", targets.describe());
  const Tensor input = dropout(hidden, options.dropout, is_training());
  const BandRows rows = group_by_band(targets, bands_, "AdaptiveSoftmax");
  // The head's target: the word itself in band 0, the band's cluster elsewhere.
  std::vector<int64_t> head_target(static_cast<size_t>(targets.numel()));
  for (size_t b = 0; b + 1 < bands_.size(); ++b) {
    for (size_t k = 0; k < rows.positions[b].size(); ++k) {
      head_target[static_cast<size_t>(rows.positions[b][k])] =
          b == 0 ? rows.relative[b][k] : bands_[1] + static_cast<int64_t>(b) - 1;
    }
  }
  CrossEntropyOptions summed;
  summed.reduction = Reduction::sum;
  summed.ignore_index = options.padding_idx;
  const Device device = hidden.device();
  Tensor loss = cross_entropy(head_logits(input), index_tensor(head_target, device), summed);
  // Tails: padding lies in band 0, so no tail row is padding (fairseq also ignores each tail's relative id
  // padding_idx there, a real word; not here).
  CrossEntropyOptions tail_sum;
  tail_sum.reduction = Reduction::sum;
  for (size_t t = 0; t + 2 < bands_.size(); ++t) {
    if (rows.positions[t + 1].empty()) continue;
    const Tensor selected = index_select(input, 0, index_tensor(rows.positions[t + 1], device));
    loss = add(loss, cross_entropy(tail_logits(t, selected), index_tensor(rows.relative[t + 1], device), tail_sum));
  }
  return loss;
}

}  // namespace qn::models
