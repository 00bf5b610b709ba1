// What the CUDA kernel files of kernels/cuda/ share: core's launch helpers under short names, and CUDA's math
// functions in a value's own precision (the float overloads named, so nothing is computed in double by accident).
#pragma once

#include <cmath>

#include "core/cuda_launch.cuh"
#include "kernels/cuda/cuda_kernels.h"

namespace qn::kernels::cuda {

using ::qn::cuda::check_launch;
using ::qn::cuda::device_ptr;
using ::qn::cuda::grid_for;
using ::qn::cuda::kBlock;
using ::qn::cuda::make_offsets;
using ::qn::cuda::Offsets;
using ::qn::cuda::stream_of;
using ::qn::cuda::visit_device_dtype;

__device__ inline float m_exp(float v) { return expf(v); }
__device__ inline double m_exp(double v) { return ::exp(v); }
__device__ inline float m_log(float v) { return logf(v); }
__device__ inline double m_log(double v) { return ::log(v); }
__device__ inline float m_sqrt(float v) { return sqrtf(v); }
__device__ inline double m_sqrt(double v) { return ::sqrt(v); }
__device__ inline float m_tanh(float v) { return tanhf(v); }
__device__ inline double m_tanh(double v) { return ::tanh(v); }
__device__ inline float m_erf(float v) { return erff(v); }
__device__ inline double m_erf(double v) { return ::erf(v); }
__device__ inline float m_pow(float x, float y) { return powf(x, y); }
__device__ inline double m_pow(double x, double y) { return ::pow(x, y); }
__device__ inline float m_fma(float x, float y, float z) { return fmaf(x, y, z); }
__device__ inline double m_fma(double x, double y, double z) { return ::fma(x, y, z); }
__device__ inline float m_rint(float v) { return rintf(v); }
__device__ inline double m_rint(double v) { return ::rint(v); }

}  // namespace qn::kernels::cuda
