# Flags every quantnoise target gets: warnings, optional -Werror, CPU tuning. C++ files get them directly; CUDA
# files (nvcc) get warnings as errors for device code and the host compiler's -Wall -Wextra.
function(qn_target_defaults target)
  set(cxx $<COMPILE_LANGUAGE:CXX>)
  target_compile_options(${target} PRIVATE $<${cxx}:-Wall -Wextra -Wpedantic -Wshadow -Wno-unknown-pragmas>
                                           $<${cxx}:$<$<BOOL:${QN_WERROR}>:-Werror>>)
  # GCC 12's libstdc++ trips its own -Wrestrict/-Warray-bounds/-Wstringop-overflow inside std::string and
  # vector::insert (GCC bugs 105329, 107852, 105651); fixed in GCC 13. Off for GCC 12 only.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE $<${cxx}:-Wno-restrict -Wno-array-bounds -Wno-stringop-overread
                                             -Wno-stringop-overflow>)
  endif()
  # clang reports a `#pragma omp simd` loop it could not vectorize (as under the sanitizers' instrumentation) as a
  # -Wpass-failed warning: a missed optimization, not a fault in the code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(${target} PRIVATE $<${cxx}:-Wno-pass-failed>)
  endif()
  if(QN_MARCH)
    target_compile_options(${target} PRIVATE $<${cxx}:-march=${QN_MARCH}>)
  endif()
  # GCC 12.2 with AVX-512 miscompiles a 32-byte constant copied as one 256-bit integer (as a vector<double>{1, 1,
  # 0, 0} may be) when its low words are equal and its high words zero: it loads the low word broadcast to all four
  # ({1, 1, 1, 1}). Moves of at most 128 bits by pieces never make such a constant; vectorized loops are unaffected.
  # Test: Toolchain.WideConstantsKeepTheirZeroHighWords.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE $<${cxx}:-mmove-max=128 -mstore-max=128>)
  endif()
  # Position-independent code in every target, programs included: the GPU bundle (tools/gpu_bundle.sh) builds the
  # engine's libraries shared, its CUDA files then compile to the same command as in a static build (so ccache serves
  # the bundle what build/ compiled), and one precompiled header serves libraries and programs alike.
  # -fno-semantic-interposition keeps the inlining across global functions that -fPIC alone would forgo.
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  target_compile_options(${target} PRIVATE $<${cxx}:-fPIC -fno-semantic-interposition>)
  # No errno from math functions, so loops over exp/sqrt vectorize; IEEE semantics are otherwise kept.
  target_compile_options(${target} PRIVATE $<${cxx}:-fno-math-errno>)
  if(QN_CUDA_ENABLED)
    # --expt-relaxed-constexpr: device code may call constexpr functions (std::numeric_limits) as host code does.
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>
                                             $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Wno-unknown-pragmas>
                                             $<$<COMPILE_LANGUAGE:CUDA>:$<$<BOOL:${QN_WERROR}>:--Werror=all-warnings>>)
  endif()
  qn_precompiled_headers(${target})
endfunction()

# The standard and third-party headers nearly every file includes, parsed once per build rather than once per file
# (CLI11 alone took 10 s to parse in each file that included it): a fresh build of qn on 2 cores went from 5:18 to
# 4:40; the rest is code generation.
# qn_core precompiles the common set and the libraries, benchmarks and qn_tasks reuse it; qn adds CLI11 and
# cuda_test GoogleTest, each reused by the targets like it. -Winvalid-pch turns a header the compiler could not
# use (a flag that differs from the donor's) into a warning, so an error under QN_WERROR, rather than a slow build.
option(QN_PCH "Precompile the headers every file includes (faster builds)" ON)
set(QN_PCH_HEADERS <algorithm> <array> <atomic> <cmath> <cstdint> <cstdio> <cstring> <functional> <map> <memory>
                   <mutex> <optional> <ostream> <span> <sstream> <stdexcept> <string> <string_view>
                   <unordered_map> <utility> <vector> <nlohmann/json.hpp>)

function(qn_precompiled_headers target)
  if(NOT QN_PCH)
    return()
  endif()
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Winvalid-pch>)
  if(QN_CCACHE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # ccache's manual, "Precompiled headers"
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fpch-preprocess>)
  endif()
  if(target STREQUAL "qn_core")
    target_precompile_headers(qn_core PRIVATE ${QN_PCH_HEADERS})
  elseif(target STREQUAL "qn")
    target_precompile_headers(qn PRIVATE ${QN_PCH_HEADERS} <CLI/CLI.hpp>)
  elseif(target STREQUAL "cuda_test")  # the GPU bundle builds this test program alone
    target_precompile_headers(cuda_test PRIVATE ${QN_PCH_HEADERS} <gtest/gtest.h>)
  elseif(target MATCHES "_test$")
    target_precompile_headers(${target} REUSE_FROM cuda_test)
  else()
    target_precompile_headers(${target} REUSE_FROM qn_core)
  endif()
endfunction()

# qn_add_library(name SOURCES ... DEPS ...): one library per folder, static unless QN_SHARED_LIBS.
function(qn_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(QN_SHARED_LIBS)
    add_library(${name} SHARED ${ARG_SOURCES})
    # No <name>_EXPORTS definition (nothing uses it): the libraries reuse qn_core's precompiled header, which a
    # definition of their own would invalidate.
    set_target_properties(${name} PROPERTIES DEFINE_SYMBOL "")
  else()
    add_library(${name} STATIC ${ARG_SOURCES})
  endif()
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  qn_target_defaults(${name})
endfunction()
