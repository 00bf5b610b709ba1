#include "train/stop_signal.h"

#include <signal.h>

namespace qn::train {
namespace {

volatile sig_atomic_t g_signal = 0;
struct sigaction g_previous_int;
struct sigaction g_previous_term;

void on_signal(int signal_number) {
  if (g_signal == signal_number) {  // the second one: give up waiting for the safe point
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
    return;
  }
  g_signal = signal_number;
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  g_signal = 0;
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in progress continue
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignalGuard::~StopSignalGuard() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool StopSignalGuard::requested() { return g_signal != 0; }
int StopSignalGuard::signal_number() { return g_signal; }

}  // namespace qn::train
