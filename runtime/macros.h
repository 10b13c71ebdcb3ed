// Portability macros shared by host C++ and CUDA sources.
//
// Every scalar functor in ops/math is written once and marked MM_HOST_DEVICE, so the very same
// code runs inside CPU loops and inside CUDA kernels. Under plain g++ the CUDA qualifiers vanish.
#pragma once

#if defined(__CUDACC__)
#define MM_HOST_DEVICE __host__ __device__
#define MM_DEVICE __device__
#define MM_INLINE __forceinline__
#else
#define MM_HOST_DEVICE
#define MM_DEVICE
#define MM_INLINE inline
#endif
