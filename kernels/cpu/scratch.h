// Scratch buffers for the CPU kernels that write every element before reading it: allocated without clearing
// (a cleared buffer is one more pass over memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace qn::kernels::cpu {

template <class T>
std::unique_ptr<T[]> uninitialized(int64_t size) {
  return std::make_unique_for_overwrite<T[]>(static_cast<size_t>(size));
}

}  // namespace qn::kernels::cpu
