// Reads of device memory back to the host. On a GPU each one waits for every kernel queued before it, so a
// training loop that reads more than it must runs at the speed of its round trips, not of its kernels. Every such
// read, on CUDA and on the simulated device alike, goes through Tensor::to(cpu) (item() and printing do too) and
// is counted here, so that a test can hold a training update to a budget and name the call site that broke it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/call_site.h"

namespace qn {

// Reads since the last reset, in this process, from every thread.
int64_t device_reads();
void reset_device_reads();

// While on, each read also records where it came from, "file:line (function)", in order; off by default (and
// with QN_TRACE_DEVICE_READS=1 in the environment, on from the start).
void trace_device_reads(bool on);
std::vector<std::string> device_read_sites();  // since the last reset

// Called by the transfer itself.
void count_device_read(const CallSite& site);

}  // namespace qn
