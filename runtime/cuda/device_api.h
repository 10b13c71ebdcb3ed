// The one header through which kernels (.cu files) reach the CUDA device API. With nvcc it is the
// toolkit's; in the emulation build (MMALIGN_CUDA_EMULATION) it is a host C++ implementation of the
// same names (runtime/cuda/emulation/device_api.h), so every kernel compiles unchanged with g++.
#pragma once

#if defined(MMALIGN_CUDA_EMULATION)
#include "runtime/cuda/emulation/device_api.h"
// A block's dynamic shared memory, as a `type*` named `name` (the emulator's per-block buffer).
#define MM_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::mm::cuda::emu::dynamic_shared_memory())
#else
#include <cuda_runtime.h>
// A block's dynamic shared memory (the launch's shared_bytes), as an array of `type` named `name`.
#define MM_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#endif
