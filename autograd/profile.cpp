#include "autograd/profile.h"

#include <atomic>
#include <mutex>

namespace qn::autograd {
namespace {

std::atomic<bool> g_on{false};
std::mutex g_mutex;
std::map<std::string, double>& totals() {
  static std::map<std::string, double> seconds;
  return seconds;
}

}  // namespace

void set_backward_profiling(bool on) { g_on = on; }
bool backward_profiling() { return g_on; }

void add_backward_time(const std::string& op, double seconds) {
  std::lock_guard lock(g_mutex);
  totals()[op] += seconds;
}

std::map<std::string, double> backward_seconds() {
  std::lock_guard lock(g_mutex);
  return totals();
}

void reset_backward_profile() {
  std::lock_guard lock(g_mutex);
  totals().clear();
}

}  // namespace qn::autograd
