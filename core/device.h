// Where a tensor's memory lives. CUDA tensors exist once the CUDA backend is built (QN_CUDA); the simulated
// accelerator `sim` exists in every build.
//
// `sim` stands in for a GPU on machines without one: its memory is host memory and its kernels are the CPU
// kernels, but every device check treats it as a device of its own. Host code may not read its memory
// (`data_ptr` fails, as dereferencing a GPU pointer would crash), copies to and from it go through the transfer
// path CUDA's take, and each read back to the host is counted (core/device_reads.h). Where host code picks an
// algorithm by device, `sim` takes the GPU's choice. So a run on `sim` shows, without a GPU, whether a pipeline
// keeps its tensors on one device and how often it waits for the device.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace qn {

enum class DeviceType : uint8_t { cpu, cuda, sim };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::cpu, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  static constexpr Device sim(int index = 0) { return {DeviceType::sim, index}; }
  constexpr bool is_cpu() const { return type == DeviceType::cpu; }
  constexpr bool is_cuda() const { return type == DeviceType::cuda; }
  constexpr bool is_sim() const { return type == DeviceType::sim; }
  // Memory the host does not address: a GPU, or the simulated device. Host code that picks an algorithm by
  // device asks this, so that `sim` runs what a GPU runs.
  constexpr bool is_accelerator() const { return type != DeviceType::cpu; }
  // Whose kernels are the CPU kernels, on memory the host allocated: the CPU and the simulated device.
  constexpr bool runs_cpu_kernels() const { return type != DeviceType::cuda; }
  friend constexpr bool operator==(Device, Device) = default;

  std::string str() const {
    switch (type) {
      case DeviceType::cpu:
        return "cpu";
      case DeviceType::cuda:
        return "cuda:" + std::to_string(index);
      case DeviceType::sim:
        return "sim:" + std::to_string(index);
    }
    return "unknown device";
  }
};

inline std::ostream& operator<<(std::ostream& out, Device d) { return out << d.str(); }

}  // namespace qn
