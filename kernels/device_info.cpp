#include "kernels/device_info.h"

#if defined(QN_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif
#if defined(QN_WITH_CUDNN)
#include <cudnn.h>
#endif

namespace qn::kernels {
namespace {

[[maybe_unused]] std::string cuda_version_string(int v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

}  // namespace

DeviceReport device_report() {
  DeviceReport r;
#if defined(QN_WITH_CUDA)
  r.cuda_compiled = true;
  r.cuda_compiled_version = cuda_version_string(CUDART_VERSION);
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) r.cuda_driver_version = cuda_version_string(driver);
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess && driver == 0) {
    r.gpu_status = std::string("no NVIDIA driver on this machine: ") + cudaGetErrorString(status);
    cudaGetLastError();
  } else if (status != cudaSuccess) {
    r.gpu_status = cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error for later callers
  } else if (count == 0) {
    r.gpu_status = "no CUDA device present";
  }
  for (int i = 0; status == cudaSuccess && i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    r.gpus.push_back({i, prop.name, prop.major, prop.minor, prop.totalGlobalMem});
  }
#else
  r.gpu_status = "this build has no CUDA backend (QN_CUDA=OFF)";
#endif
#if defined(QN_WITH_CUDNN)
  r.cudnn_compiled = true;
  r.cudnn_compiled_version =
      std::to_string(CUDNN_MAJOR) + "." + std::to_string(CUDNN_MINOR) + "." + std::to_string(CUDNN_PATCHLEVEL);
  const size_t v = cudnnGetVersion();
  r.cudnn_runtime_version =
      std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." + std::to_string(v % 100);
#endif
  return r;
}

}  // namespace qn::kernels
