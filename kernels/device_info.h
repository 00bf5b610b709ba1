// What this build can compute on: the CUDA and cuDNN versions compiled in and the GPUs visible now.
#pragma once

#include <string>
#include <vector>

namespace qn::kernels {

struct GpuInfo {
  int index = 0;
  std::string name;
  int major = 0;  // compute capability
  int minor = 0;
  size_t memory_bytes = 0;
};

struct DeviceReport {
  bool cuda_compiled = false;
  std::string cuda_compiled_version;  // e.g. "13.0"; empty when not compiled in
  std::string cuda_driver_version;    // the driver's CUDA version, when one is installed
  bool cudnn_compiled = false;
  std::string cudnn_compiled_version;
  std::string cudnn_runtime_version;  // from the loaded library
  std::vector<GpuInfo> gpus;
  std::string gpu_status;  // why no GPU is visible, when none is
};

DeviceReport device_report();

}  // namespace qn::kernels
