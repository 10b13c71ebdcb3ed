// Return-code checks for CUDA runtime, cuBLAS (and later cuDNN/NCCL) calls. Every call goes through
// one of these macros, which name the call, the op that made it and the library's error string.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "runtime/error.h"

namespace mm::cuda {
const char* cublas_status_name(cublasStatus_t s);
}  // namespace mm::cuda

#define MM_CUDA_CHECK(call, op)                                                                   \
  do {                                                                                            \
    cudaError_t mm_err_ = (call);                                                                 \
    if (mm_err_ != cudaSuccess)                                                                   \
      ::mm::fail(::mm::ErrorKind::Runtime, op, #call " failed: ", cudaGetErrorName(mm_err_), " (", \
                 cudaGetErrorString(mm_err_), ")");                                               \
  } while (0)

#define MM_CUBLAS_CHECK(call, op)                                                                  \
  do {                                                                                             \
    cublasStatus_t mm_st_ = (call);                                                                \
    if (mm_st_ != CUBLAS_STATUS_SUCCESS)                                                           \
      ::mm::fail(::mm::ErrorKind::Runtime, op, #call " failed: ", ::mm::cuda::cublas_status_name(mm_st_)); \
  } while (0)
