// OpenBLAS chooses its kernels when it loads, before main, from the CPU model or OPENBLAS_CORETYPE. On a CPU model it
// does not know (recent Xeons, as virtual machines present them) it falls back to SSE3 kernels at a third of the
// GEMM speed. qn then runs itself again, once, with OPENBLAS_CORETYPE=Haswell (kernels::blas_core_replacement), and
// says so in one line when a training, compression or evaluation starts, and in `qn info`. A value the user set is
// never overridden, and the rest of the environment (OPENBLAS_L2_SIZE, OPENBLAS_NUM_THREADS...) passes unchanged. Only
// qn does this: the test and benchmark programs keep the environment's setting.
#pragma once

#include <string>

namespace qn::tools {

// Called first in main: re-executes qn with the replacement core when OpenBLAS fell back and the user set no
// OPENBLAS_CORETYPE; returns normally otherwise (also when the re-execution fails, after a note on stderr).
// QN_BLAS_CORE_AS_DETECTED=<core> makes qn act as if OpenBLAS had detected that core (the test of this path).
void choose_blas_core(char** argv);

// After the re-execution: the core OpenBLAS had chosen, which OPENBLAS_CORETYPE replaced; empty otherwise.
const std::string& replaced_blas_core();
// One line on stderr saying so, if it was replaced: at the start of the commands that compute (train, compress,
// eval), so that short commands keep their one-line errors.
void note_replaced_blas_core();

}  // namespace qn::tools
