#include "data/sample_random.h"

#include <algorithm>
#include <utility>

namespace qn::data {

std::vector<int64_t> random_permutation(int64_t n, SampleRandom& random) {
  std::vector<std::pair<uint64_t, int64_t>> keyed(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keyed[static_cast<size_t>(i)] = {random.next_u64(), i};
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = keyed[static_cast<size_t>(i)].second;
  return order;
}

}  // namespace qn::data
