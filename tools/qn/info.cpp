// qn info: what this build is and what it can use on this machine.
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/parallel.h"
#include "kernels/device_info.h"
#include "kernels/threading.h"
#include "tools/qn/blas_core.h"
#include "tools/qn/commands.h"

namespace qn::tools {
namespace {

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "g++ " __VERSION__;
#else
  return "unknown";
#endif
}

std::string openmp_version() {
  switch (_OPENMP) {
    case 201511:
      return "4.5";
    case 201811:
      return "5.0";
    case 202011:
      return "5.1";
    default:
      return std::to_string(_OPENMP);
  }
}

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

void print_info() {
  const kernels::BlasInfo blas = kernels::blas_info();
  const kernels::DeviceReport dev = kernels::device_report();
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("quantnoise %s\n", QN_VERSION);
  std::printf("  compiler:  %s, C++%ld\n", compiler().c_str(), __cplusplus / 100 % 100);
  std::printf("  threads:   %d (qn::set_num_threads / QN_NUM_THREADS; one OpenMP pool)\n", get_num_threads());
  std::printf("  OpenMP:    %s, %d processors\n", openmp_version().c_str(), omp_get_num_procs());
  std::printf("  OpenBLAS:  %s\n", blas.config.c_str());
  std::printf("             core %s%s, %s threading, %d threads\n", blas.core.c_str(),
              coretype && *coretype ? (" (OPENBLAS_CORETYPE=" + std::string(coretype) + ")").c_str() : "",
              blas.parallel.c_str(), blas.threads);
  if (!replaced_blas_core().empty()) {
    std::printf("             set by qn: OpenBLAS does not know this CPU and had chosen its %s kernels\n",
                replaced_blas_core().c_str());
  } else if (const std::string better = kernels::blas_core_replacement(); !better.empty()) {
    std::printf(
        "             note: these kernels are older than the CPU; OPENBLAS_CORETYPE=%s makes GEMMs several "
        "times faster\n",
        better.c_str());
  }
  if (dev.cuda_compiled) {
    std::printf("  CUDA:      compiled with runtime %s; driver %s\n", dev.cuda_compiled_version.c_str(),
                dev.cuda_driver_version.empty() ? "not installed" : dev.cuda_driver_version.c_str());
  } else {
    std::printf("  CUDA:      not compiled in (QN_CUDA=OFF)\n");
  }
  if (dev.cudnn_compiled) {
    std::printf("  cuDNN:     compiled with %s, loaded %s\n", dev.cudnn_compiled_version.c_str(),
                dev.cudnn_runtime_version.c_str());
  } else {
    std::printf("  cuDNN:     not compiled in\n");
  }
  if (dev.gpus.empty()) {
    std::printf("  GPUs:      none visible (%s)\n", dev.gpu_status.c_str());
  } else {
    for (const kernels::GpuInfo& g : dev.gpus) {
      std::printf("  GPU %d:     %s, compute capability %d.%d, %s\n", g.index, g.name.c_str(), g.major, g.minor,
                  gib(g.memory_bytes).c_str());
    }
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("info", "Print the build, BLAS, threads, CUDA/cuDNN and visible GPUs");
  cmd->callback(print_info);
}

}  // namespace qn::tools
