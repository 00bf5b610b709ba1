#include "tools/qn/blas_core.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/threading.h"

namespace qn::tools {
namespace {

// Set for the re-executed process only: the core OpenBLAS had chosen.
constexpr const char* kReplacedVariable = "QN_BLAS_CORE_REPLACED";

std::string& replaced() {
  static std::string core;
  return core;
}

}  // namespace

void choose_blas_core(char** argv) {
  if (const char* was = std::getenv(kReplacedVariable); was != nullptr) {  // the re-executed qn
    replaced() = was;
    unsetenv(kReplacedVariable);  // programs qn starts see OPENBLAS_CORETYPE=Haswell as the user's and keep it
    return;
  }
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice
  const char* pretend = std::getenv("QN_BLAS_CORE_AS_DETECTED");
  const std::string detected = pretend != nullptr ? pretend : kernels::blas_core();
  const std::string replacement = kernels::blas_core_replacement(detected, kernels::cpu_has_avx2_and_fma());
  if (replacement.empty()) return;
  setenv("OPENBLAS_CORETYPE", replacement.c_str(), 1);
  setenv(kReplacedVariable, detected.c_str(), 1);
  execv("/proc/self/exe", argv);
  const int error = errno;  // only returns on failure
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kReplacedVariable);
  std::fprintf(stderr,
               "qn: note: OpenBLAS chose its slow %s kernels and qn could not restart itself with "
               "OPENBLAS_CORETYPE=%s (%s); set it in the environment for faster GEMMs\n",
               detected.c_str(), replacement.c_str(), std::strerror(error));
}

const std::string& replaced_blas_core() { return replaced(); }

void note_replaced_blas_core() {
  if (replaced().empty()) return;
  std::fprintf(stderr,
               "qn: note: OpenBLAS does not know this CPU and chose its %s kernels; with OPENBLAS_CORETYPE=%s it "
               "runs its %s kernels (set OPENBLAS_CORETYPE to choose another)\n",
               replaced().c_str(), std::getenv("OPENBLAS_CORETYPE"), kernels::blas_core().c_str());
}

}  // namespace qn::tools
