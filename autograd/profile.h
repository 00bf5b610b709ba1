// Time spent in each op's backward rule, by op name, for benchmarks that report one kind of op's share of a step
// (bench_models' Quant-Noise cost). Off by default: when off, the engine does not read the clock.
#pragma once

#include <map>
#include <string>

namespace qn::autograd {

void set_backward_profiling(bool on);
bool backward_profiling();
// Adds seconds to op's total (the engine calls it for every node it runs while profiling is on).
void add_backward_time(const std::string& op, double seconds);
// Seconds per op name since the last reset.
std::map<std::string, double> backward_seconds();
void reset_backward_profile();

}  // namespace qn::autograd
