// SIGINT/SIGTERM as a request to stop at the next safe point (an update boundary, after a checkpoint),
// rather than death mid-update. A second signal of the same kind while the first is pending ends the
// process the default way, so a stuck run can still be interrupted.
#pragma once

namespace qn::train {

class StopSignalGuard {
 public:
  StopSignalGuard();   // installs the handlers (and clears any earlier request)
  ~StopSignalGuard();  // restores the previous handlers
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

  static bool requested();
  static int signal_number();  // the signal received, 0 when none
};

}  // namespace qn::train
