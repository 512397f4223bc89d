// KEROSENE_HD marks functions compiled for both the host and CUDA devices, so the CPU and CUDA
// backends share one definition of each formula, tested on the CPU.
#pragma once

#if defined(__CUDACC__)
#define KEROSENE_HD __host__ __device__ __forceinline__
#else
#define KEROSENE_HD inline
#endif
