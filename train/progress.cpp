#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>

namespace qn::train {
namespace {

constexpr const char* kClearLine = "\r\x1b[K";
constexpr int kBarWidth = 20;

std::string printf_string(const char* format, auto... values) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, values...);
  return buffer;
}

}  // namespace

std::string ProgressDisplay::format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  if (h > 0)
    return printf_string("%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                         static_cast<long long>(s));
  return printf_string("%lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
}

std::string ProgressDisplay::format(const ProgressState& s) {
  std::string text = "epoch " + std::to_string(s.epoch) + " " + std::to_string(s.batch) + "/" +
                     std::to_string(s.batches_per_epoch) + " | update " + std::to_string(s.num_updates);
  text += printf_string(" | loss %.4f | lr %.3g | %.0f samples/s", s.loss, s.lr, s.samples_per_second);
  if (s.eta_seconds >= 0) text += " | ETA " + format_duration(s.eta_seconds);
  return text;
}

void ProgressDisplay::show(const ProgressState& state, bool force) {
  if (!bar_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && bar_visible_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const int64_t total = state.batches_per_epoch > 0 ? state.batches_per_epoch : 1;
  const auto filled = static_cast<int>(kBarWidth * std::min<int64_t>(state.batch, total) / total);
  bar_text_ = "[" + std::string(static_cast<size_t>(filled), '#') +
              std::string(static_cast<size_t>(kBarWidth - filled), '.') + "] " + format(state);
  draw();
}

void ProgressDisplay::draw() {
  out_ << kClearLine << bar_text_ << std::flush;
  bar_visible_ = true;
}

void ProgressDisplay::line(const std::string& text) {
  if (bar_ && bar_visible_) out_ << kClearLine;
  out_ << text << '\n';
  if (bar_ && bar_visible_) draw();
  out_ << std::flush;
}

void ProgressDisplay::finish() {
  if (bar_ && bar_visible_) out_ << '\n' << std::flush;
  bar_visible_ = false;
}

bool stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) && !(term && std::strcmp(term, "dumb") == 0);
}

}  // namespace qn::train
