# Finds every dependency and prints one line each: what was found, and what is off without it.
# Everything comes from Debian packages (tools/setup.sh installs them); nothing is downloaded here.

function(qn_report name message)
  string(LENGTH "${name}" len)
  math(EXPR pad "12 - ${len}")
  string(REPEAT " " ${pad} spaces)
  message(STATUS "quantnoise: ${name}${spaces}${message}")
endfunction()

# An optional part built AUTO (when `found`), ON or OFF: declares the cache option and sets <option>_ENABLED;
# ON without `found` stops with `missing`.
function(qn_optional_part option found description missing)
  set(${option} AUTO CACHE STRING "${description}: AUTO (when found), ON or OFF")
  set_property(CACHE ${option} PROPERTY STRINGS AUTO ON OFF)
  if(${option} STREQUAL "AUTO")
    set(enabled ${found})
  elseif(${option})
    set(enabled ON)
  else()
    set(enabled OFF)
  endif()
  if(enabled AND NOT found)
    message(FATAL_ERROR "quantnoise: ${option}=ON but ${missing}")
  endif()
  set(${option}_ENABLED ${enabled} PARENT_SCOPE)
endfunction()

# --- OpenBLAS (required). Prefer the OpenMP build so OpenBLAS and our loops share one thread pool.
find_path(QN_OPENBLAS_INCLUDE cblas.h openblas_config.h
          PATHS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/x86_64-linux-gnu/openblas-pthread
                /usr/include/openblas /usr/include/x86_64-linux-gnu
          NO_DEFAULT_PATH)
find_library(QN_OPENBLAS_LIB openblas
             PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-pthread
                   /usr/lib/x86_64-linux-gnu
             NO_DEFAULT_PATH)
if(NOT QN_OPENBLAS_INCLUDE OR NOT QN_OPENBLAS_LIB)
  message(FATAL_ERROR "quantnoise: OpenBLAS not found; install it with: apt-get install libopenblas-openmp-dev")
endif()
add_library(qn::openblas INTERFACE IMPORTED)
target_include_directories(qn::openblas INTERFACE ${QN_OPENBLAS_INCLUDE})
target_link_libraries(qn::openblas INTERFACE ${QN_OPENBLAS_LIB})
if(QN_OPENBLAS_LIB MATCHES "openblas-openmp")
  qn_report("OpenBLAS" "found ${QN_OPENBLAS_LIB} (OpenMP build: one thread pool with the engine)")
else()
  qn_report("OpenBLAS" "found ${QN_OPENBLAS_LIB} (not the OpenMP build: install libopenblas-openmp-dev to share one pool)")
endif()

# --- OpenMP (required: the CPU kernels' loops use it).
find_package(OpenMP REQUIRED COMPONENTS CXX)
qn_report("OpenMP" "found ${OpenMP_CXX_VERSION} (${OpenMP_CXX_FLAGS})")

# --- nlohmann-json (required: safetensors headers).
find_package(nlohmann_json 3.10 REQUIRED)
qn_report("nlohmann" "found json ${nlohmann_json_VERSION}")

# --- zlib (required: gzipped data sets).
find_package(ZLIB REQUIRED)
qn_report("zlib" "found ${ZLIB_VERSION_STRING}")

# --- stb_image (required: JPEG/PNG decoding for image data sets; data/stb_image.cpp compiles it).
find_path(QN_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
add_library(qn::stb INTERFACE IMPORTED)
target_include_directories(qn::stb INTERFACE ${QN_STB_INCLUDE_DIR})
qn_report("stb" "found ${QN_STB_INCLUDE_DIR}/stb_image.h")

# --- Threads (required: data loader workers).
find_package(Threads REQUIRED)

# --- CLI11 (required: the qn command line).
find_package(CLI11 CONFIG REQUIRED)
qn_report("CLI11" "found ${CLI11_VERSION}")

# --- yaml-cpp (required: iPQ quantization configs in fairseq's YAML schema).
find_package(yaml-cpp REQUIRED)
qn_report("yaml-cpp" "found ${yaml-cpp_VERSION}")

# --- CUDA toolkit (optional). Debian's CUDA lives under /usr/local/cuda, outside the default path.
if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
  set(CUDAToolkit_ROOT /usr/local/cuda)
endif()
find_package(CUDAToolkit QUIET)
# AUTO builds the backend when the toolkit is found. The CPU-only jobs (tools/main.sh) pass OFF to skip nvcc;
# switching recompiles only the few files that use the CUDA runtime (QN_WITH_CUDA is theirs alone).
qn_optional_part(QN_CUDA "${CUDAToolkit_FOUND}" "Build the CUDA backend (cuBLAS, cuDNN)"
                 "no CUDA toolkit was found (set CUDAToolkit_ROOT)")
if(QN_CUDA_ENABLED)
  if(NOT DEFINED CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_COMPILER ${CUDAToolkit_NVCC_EXECUTABLE})
  endif()
  # H100/H200 (sm_90) and A100 (sm_80) as machine code, and sm_90 PTX that newer GPUs compile when loading.
  set(CMAKE_CUDA_ARCHITECTURES "80-real;90" CACHE STRING "CUDA architectures to compile for")
  enable_language(CUDA)
  # CUDA files take the C++ standard (20); CMake 3.25 does not know nvcc 13's flag for it, so it is named here.
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION -std=c++20)
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION -std=c++20)
  if(QN_CCACHE)
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${QN_CCACHE})
  endif()
  qn_report("CUDA" "found ${CUDAToolkit_VERSION} (${CUDAToolkit_NVCC_EXECUTABLE}): QN_CUDA=${QN_CUDA}, on for ${CMAKE_CUDA_ARCHITECTURES}")
elseif(CUDAToolkit_FOUND)
  qn_report("CUDA" "found ${CUDAToolkit_VERSION} but QN_CUDA=OFF: CPU only")
else()
  qn_report("CUDA" "not found: CPU only")
endif()

# --- cuDNN (optional, with CUDA).
set(QN_CUDNN OFF)
if(QN_CUDA_ENABLED)
  find_path(QN_CUDNN_INCLUDE cudnn_version.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/include /usr/include/x86_64-linux-gnu)
  find_library(QN_CUDNN_LIB cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/lib/x86_64-linux-gnu)
  if(QN_CUDNN_INCLUDE AND QN_CUDNN_LIB)
    set(QN_CUDNN ON)
    file(STRINGS ${QN_CUDNN_INCLUDE}/cudnn_version.h cudnn_lines REGEX "define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
    string(REGEX REPLACE ".*CUDNN_MAJOR ([0-9]+).*CUDNN_MINOR ([0-9]+).*CUDNN_PATCHLEVEL ([0-9]+).*" "\\1.\\2.\\3"
           cudnn_version "${cudnn_lines}")
    add_library(qn::cudnn INTERFACE IMPORTED)
    target_include_directories(qn::cudnn INTERFACE ${QN_CUDNN_INCLUDE})
    target_link_libraries(qn::cudnn INTERFACE ${QN_CUDNN_LIB})
    qn_report("cuDNN" "found ${cudnn_version} (${QN_CUDNN_LIB})")
  else()
    qn_report("cuDNN" "not found: GPU convolutions and BatchNorm off")
  endif()
else()
  qn_report("cuDNN" "off (needs CUDA)")
endif()

# --- NCCL (optional, with CUDA): the process group for CUDA tensors (train/distributed). The CUDA toolkit here
# ships it under lib/ rather than lib64/.
set(QN_NCCL OFF)
if(QN_CUDA_ENABLED)
  find_path(QN_NCCL_INCLUDE nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(QN_NCCL_LIB nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib
                                      ${CUDAToolkit_TARGET_DIR}/lib)
  if(QN_NCCL_INCLUDE AND QN_NCCL_LIB)
    set(QN_NCCL ON)
    add_library(qn::nccl INTERFACE IMPORTED)
    target_include_directories(qn::nccl INTERFACE ${QN_NCCL_INCLUDE})
    target_link_libraries(qn::nccl INTERFACE ${QN_NCCL_LIB} CUDA::cudart)
    qn_report("NCCL" "found ${QN_NCCL_LIB}: data parallelism on GPUs")
  else()
    qn_report("NCCL" "not found: data parallelism on CPUs only")
  endif()
else()
  qn_report("NCCL" "off (needs CUDA)")
endif()

# --- MPI (optional): data-parallel training across processes (train/distributed), Debian's OpenMPI.
# The C API from C++ (the project enables no C compiler); without the deprecated C++ bindings.
set(MPI_CXX_SKIP_MPICXX ON)
find_package(MPI QUIET COMPONENTS CXX)
qn_optional_part(QN_MPI "${MPI_CXX_FOUND}" "Build the MPI process group"
                 "no MPI was found (apt-get install libopenmpi-dev)")
if(QN_MPI_ENABLED)
  qn_report("MPI" "found ${MPI_CXX_VERSION} (${MPIEXEC_EXECUTABLE}): multi-process training")
else()
  qn_report("MPI" "off: one process")
endif()

# --- GoogleTest (tests).
if(QN_TESTS)
  find_package(GTest QUIET)
  if(GTest_FOUND)
    qn_report("GTest" "found ${GTest_VERSION}: tests on")
  else()
    set(QN_TESTS OFF)
    qn_report("GTest" "not found: tests off (apt-get install libgtest-dev)")
  endif()
else()
  qn_report("GTest" "QN_TESTS=OFF: tests off")
endif()

# --- Google Benchmark (bench/).
if(QN_BENCH)
  find_package(benchmark QUIET)
  if(benchmark_FOUND)
    qn_report("benchmark" "found ${benchmark_VERSION}: bench on")
  else()
    set(QN_BENCH OFF)
    qn_report("benchmark" "not found: bench off (apt-get install libbenchmark-dev)")
  endif()
else()
  qn_report("benchmark" "QN_BENCH=OFF: bench off")
endif()

# --- stb (image decoding for the data loaders).
find_path(QN_STB_INCLUDE stb_image.h PATHS /usr/include/stb /usr/include NO_DEFAULT_PATH)
if(QN_STB_INCLUDE)
  qn_report("stb" "found ${QN_STB_INCLUDE}/stb_image.h: JPEG/PNG loading on")
else()
  qn_report("stb" "not found: JPEG/PNG loading off (apt-get install libstb-dev)")
endif()
