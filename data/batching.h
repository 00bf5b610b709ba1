// Which samples go into which batch, for one epoch: a pure function of (options, epoch), so that every
// rank, every worker count and a resumed run cut the same batches.
//
//   fixed_size_batches  PyTorch's DistributedSampler + BatchSampler: shuffle all samples, pad the order by
//                       repeating its start to a multiple of world_size, rank r takes positions r, r + W, ...,
//                       then consecutive batch_size runs. With W ranks of batch B, the union of the ranks'
//                       batch k is the single-process batch k of size W * B.
//   token_batches       fairseq's batch_by_size: samples sorted by size (ties in random order), packed greedily
//                       while (samples + 1) * longest <= max_tokens and samples < max_sentences, the batch order
//                       shuffled; rank r takes batches r, r + W, ..., the list padded by repeating its start so
//                       that every rank gets the same number (fairseq pads with empty batches instead). This
//                       is the length-bucketed batching of sentence-pair tasks and the max_tokens batching of
//                       language models.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qn::data {

using IndexBatch = std::vector<int64_t>;

// Data-parallel position of this process.
struct Shard {
  int rank = 0;
  int world_size = 1;
};

struct FixedBatchOptions {
  int64_t batch_size = 1;
  bool shuffle = true;
  bool drop_last = false;  // drop this rank's last batch when it is short
  uint64_t seed = 1;
  Shard shard;
};
std::vector<IndexBatch> fixed_size_batches(int64_t num_samples, int64_t epoch, const FixedBatchOptions& options);

struct TokenBatchOptions {
  int64_t max_tokens = 0;     // 0: no limit
  int64_t max_sentences = 0;  // 0: no limit
  int64_t required_batch_size_multiple = 1;
  bool shuffle = true;  // random ties and batch order; false: sizes ascending, ties by index
  uint64_t seed = 1;
  Shard shard;
};
// sizes[i] is sample i's length in tokens. A sample longer than max_tokens is an error naming it.
std::vector<IndexBatch> token_batches(std::span<const int64_t> sizes, int64_t epoch, const TokenBatchOptions& options);

}  // namespace qn::data
