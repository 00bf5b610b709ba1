#include "core/parallel.h"

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/parse_integer.h"

namespace qn {
namespace {

int threads_from_environment() {
  if (const char* env = std::getenv("QN_NUM_THREADS"); env != nullptr && *env != '\0') {
    const std::optional<int> n = parse_integer<int>(env);
    QN_CHECK(n.has_value() && *n >= 1 && *n <= 4096, "QN_NUM_THREADS", "expected a positive thread count, got '", env,
             "'");
    omp_set_num_threads(*n);
    return *n;
  }
  return omp_get_max_threads();
}

std::atomic<int> g_threads{0};
thread_local bool t_serial = false;

}  // namespace

int get_num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    static const int from_env = threads_from_environment();
    int expected = 0;
    g_threads.compare_exchange_strong(expected, from_env);
    n = g_threads.load();
  }
  return n;
}

void run_serially_on_this_thread() { t_serial = true; }
bool runs_serially() { return t_serial; }

void set_num_threads(int threads) {
  QN_CHECK(threads >= 1, "set_num_threads", "expected a positive thread count, got ", threads);
  omp_set_num_threads(threads);
  g_threads.store(threads);
}

}  // namespace qn
