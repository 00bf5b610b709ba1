// What a run shows while it trains: on a terminal, one bar redrawn in place (update, loss, lr, throughput,
// ETA); elsewhere (a log file, CI), one plain line per log interval. Messages such as evaluation results
// are printed as lines above the bar.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

namespace qn::train {

struct ProgressState {
  int64_t epoch = 0;  // 1-based for display
  int64_t batch = 0;  // micro-batches consumed in the epoch
  int64_t batches_per_epoch = 0;
  int64_t num_updates = 0;
  double loss = 0.0;  // mean over the window
  double lr = 0.0;
  double samples_per_second = 0.0;
  double eta_seconds = -1.0;  // < 0: unknown
};

class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, bool bar) : out_(out), bar_(bar) {}
  ~ProgressDisplay() { finish(); }

  // Bar mode: redraws the bar (at most ten times a second unless forced). Lines mode: nothing.
  void show(const ProgressState& state, bool force = false);
  // A permanent line: the progress line in lines mode, or a message in either mode.
  void line(const std::string& text);
  bool is_bar() const { return bar_; }
  // Leaves the cursor on a fresh line.
  void finish();

  static std::string format(const ProgressState& state);
  static std::string format_duration(double seconds);  // "1:02:03", "2:03"

 private:
  void draw();

  std::ostream& out_;
  bool bar_;
  bool bar_visible_ = false;
  std::string bar_text_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// Whether stderr is a terminal (and TERM is not "dumb").
bool stderr_is_terminal();

}  // namespace qn::train
