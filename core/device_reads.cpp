#include "core/device_reads.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace qn {
namespace {

std::atomic<int64_t> g_reads{0};

bool tracing_from_environment() {
  const char* env = std::getenv("QN_TRACE_DEVICE_READS");
  return env != nullptr && std::strcmp(env, "1") == 0;
}

struct Trace {
  std::mutex mutex;
  bool on = tracing_from_environment();
  std::vector<std::string> sites;
};

Trace& trace() {
  static Trace instance;
  return instance;
}

}  // namespace

int64_t device_reads() { return g_reads.load(std::memory_order_relaxed); }

void reset_device_reads() {
  Trace& t = trace();
  const std::lock_guard lock(t.mutex);
  g_reads.store(0, std::memory_order_relaxed);
  t.sites.clear();
}

void trace_device_reads(bool on) {
  Trace& t = trace();
  const std::lock_guard lock(t.mutex);
  t.on = on;
}

std::vector<std::string> device_read_sites() {
  Trace& t = trace();
  const std::lock_guard lock(t.mutex);
  return t.sites;
}

void count_device_read(const CallSite& site) {
  g_reads.fetch_add(1, std::memory_order_relaxed);
  Trace& t = trace();
  const std::lock_guard lock(t.mutex);
  if (!t.on) return;
  t.sites.push_back(std::string(site.file) + ":" + std::to_string(site.line) + " (" + site.function + ")");
}

}  // namespace qn
