#include "data/batching.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "data/sample_random.h"

namespace qn::data {

namespace {

void check_shard(const Shard& shard, const char* op) {
  QN_CHECK(shard.world_size >= 1 && shard.rank >= 0 && shard.rank < shard.world_size, op,
           "expected 0 <= rank < world_size, got rank ", shard.rank, " of ", shard.world_size);
}

// Items r, r + W, ... of `items` after padding it to a multiple of W by repeating its start.
template <typename T>
std::vector<T> take_shard(const std::vector<T>& items, const Shard& shard) {
  if (shard.world_size == 1 || items.empty()) return items;
  const size_t world = static_cast<size_t>(shard.world_size);
  const size_t per_rank = (items.size() + world - 1) / world;
  std::vector<T> mine;
  mine.reserve(per_rank);
  for (size_t k = 0; k < per_rank; ++k)
    mine.push_back(items[(k * world + static_cast<size_t>(shard.rank)) % items.size()]);
  return mine;
}

}  // namespace

std::vector<IndexBatch> fixed_size_batches(int64_t num_samples, int64_t epoch, const FixedBatchOptions& options) {
  QN_CHECK(num_samples >= 0, "fixed_size_batches", "expected a sample count >= 0, got ", num_samples);
  QN_CHECK(options.batch_size >= 1, "fixed_size_batches", "expected batch_size >= 1, got ", options.batch_size);
  check_shard(options.shard, "fixed_size_batches");
  std::vector<int64_t> order(static_cast<size_t>(num_samples));
  if (options.shuffle) {
    SampleRandom random(options.seed, DrawPurpose::kSampleOrder, epoch, 0);
    order = random_permutation(num_samples, random);
  } else {
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  const std::vector<int64_t> mine = take_shard(order, options.shard);
  std::vector<IndexBatch> batches;
  const auto batch = static_cast<size_t>(options.batch_size);
  for (size_t start = 0; start < mine.size(); start += batch) {
    const size_t end = std::min(mine.size(), start + batch);
    if (end - start < batch && options.drop_last) break;
    batches.emplace_back(mine.begin() + static_cast<std::ptrdiff_t>(start),
                         mine.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

std::vector<IndexBatch> token_batches(std::span<const int64_t> sizes, int64_t epoch, const TokenBatchOptions& options) {
  const char* op = "token_batches";
  QN_CHECK(options.max_tokens >= 0 && options.max_sentences >= 0, op,
           "expected max_tokens and max_sentences >= 0 (0: no limit), got ", options.max_tokens, " and ",
           options.max_sentences);
  QN_CHECK(options.required_batch_size_multiple >= 1, op, "expected required_batch_size_multiple >= 1, got ",
           options.required_batch_size_multiple);
  check_shard(options.shard, op);
  const auto n = static_cast<int64_t>(sizes.size());

  // Sizes ascending; equal sizes in random order (fairseq: np.lexsort([permutation, sizes])).
  std::vector<int64_t> tie_break(static_cast<size_t>(n));
  if (options.shuffle) {
    SampleRandom random(options.seed, DrawPurpose::kSampleOrder, epoch, 0);
    const std::vector<int64_t> permutation = random_permutation(n, random);
    for (int64_t i = 0; i < n; ++i) tie_break[static_cast<size_t>(permutation[static_cast<size_t>(i)])] = i;
  } else {
    std::iota(tie_break.begin(), tie_break.end(), int64_t{0});
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const auto sa = sizes[static_cast<size_t>(a)], sb = sizes[static_cast<size_t>(b)];
    return sa != sb ? sa < sb : tie_break[static_cast<size_t>(a)] < tie_break[static_cast<size_t>(b)];
  });

  // Greedy packing; a full batch keeps a multiple of required_batch_size_multiple and carries the rest over.
  const int64_t multiple = options.required_batch_size_multiple;
  std::vector<IndexBatch> batches;
  IndexBatch batch;
  std::vector<int64_t> lengths;  // of the samples in `batch`
  int64_t longest = 0;
  for (const int64_t index : order) {
    const int64_t size = sizes[static_cast<size_t>(index)];
    QN_CHECK(size >= 0, op, "sample ", index, " has a negative size ", size);
    QN_CHECK(options.max_tokens == 0 || size <= options.max_tokens, op, "sample ", index, " has ", size,
             " tokens, more than max_tokens ", options.max_tokens);
    longest = std::max(longest, size);
    const auto count = static_cast<int64_t>(batch.size());
    const bool full = count > 0 && ((options.max_sentences > 0 && count == options.max_sentences) ||
                                    (options.max_tokens > 0 && (count + 1) * longest > options.max_tokens));
    if (full) {
      const int64_t keep = std::max(multiple * (count / multiple), count % multiple);
      batches.emplace_back(batch.begin(), batch.begin() + keep);
      batch.erase(batch.begin(), batch.begin() + keep);
      lengths.erase(lengths.begin(), lengths.begin() + keep);
      longest = size;
      for (const int64_t length : lengths) longest = std::max(longest, length);
    }
    batch.push_back(index);
    lengths.push_back(size);
  }
  if (!batch.empty()) batches.push_back(std::move(batch));

  if (options.shuffle) {
    SampleRandom random(options.seed, DrawPurpose::kBatchOrder, epoch, 0);
    const std::vector<int64_t> permutation = random_permutation(static_cast<int64_t>(batches.size()), random);
    std::vector<IndexBatch> shuffled;
    shuffled.reserve(batches.size());
    for (const int64_t k : permutation) shuffled.push_back(std::move(batches[static_cast<size_t>(k)]));
    batches = std::move(shuffled);
  }
  return take_shard(batches, options.shard);
}

}  // namespace qn::data
