// CUDA kernels of the indexing family. Index values were range-checked on the host by the front end
// (ops/index.cpp copies a CUDA index to the host for that scan), so the kernels trust them.
//
// gather / index_select / scatter_add: one thread per index element over the same StridedIndexer
// geometry as the CPU loops. scatter_add uses atomicAdd: the ORDER of the float additions into one
// element may vary from run to run on the GPU (results can differ in the last bits); the CPU loop
// is the deterministic reference.
//
// sort / topk: a bitonic sorting network with the total order of ops/index_order.h (ties broken by
// position, so the network's result is the stable sort). Rows up to kSharedSortMax elements sort in
// shared memory, one block per row; longer rows run the same network in global memory, one kernel
// launch per network step. topk sorts the whole row and keeps the first k.
#include <algorithm>

#include "ops/common/broadcast.h"
#include "ops/cuda/loops.cuh"
#include "ops/index.h"
#include "ops/index_order.h"
#include "ops/shape.h"

namespace mm::cuda {
namespace {

inline constexpr int kThreads = 256;
inline constexpr int64_t kSharedSortMax = 2048;  // 2048 * (4 + 8) bytes = 24 KiB of shared memory

// ---- gather / index_select ----

template <typename T>
struct GatherApply {
  T* out;
  const int64_t* index;
  const T* x;
  int64_t x_dim_stride;
  __device__ void operator()(const int64_t* off) const { out[off[0]] = x[off[2] + index[off[1]] * x_dim_stride]; }
};

void gather_kernel(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  Tensor xv = index_space_view(x, index.shape(), dim);
  auto ix = make_indexer<3>(index.shape(), {&out, &index, &xv}, "gather");
  dispatch_by_size(x.element_size(), [&](auto tag) {
    using T = decltype(tag);
    launch_elementwise<3>(ix, index.numel(), /*contiguous=*/false, "gather",
                          GatherApply<T>{static_cast<T*>(out.raw_data()), index.data<int64_t>(),
                                         static_cast<const T*>(x.raw_data()), x.stride(dim)});
  });
}

// ---- scatter_add ----

__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int32_t* p, int32_t v) { atomicAdd(reinterpret_cast<int*>(p), v); }
// Two's-complement addition is the same on signed and unsigned 64-bit words.
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}

template <typename T>
struct ScatterAddApply {
  T* out;
  const int64_t* index;
  const T* src;
  int64_t out_dim_stride;
  __device__ void operator()(const int64_t* off) const {
    atomic_add(out + off[0] + index[off[1]] * out_dim_stride, src[off[2]]);
  }
};

template <typename T>
void scatter_add_launch(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor ov = index_space_view(out, index.shape(), dim);
  Tensor sv = index_space_view(src, index.shape(), -1);
  auto ix = make_indexer<3>(index.shape(), {&ov, &index, &sv}, "scatter_add");
  launch_elementwise<3>(ix, index.numel(), /*contiguous=*/false, "scatter_add",
                        ScatterAddApply<T>{out.data<T>(), index.data<int64_t>(), src.data<T>(), out.stride(dim)});
}

void scatter_add_kernel(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  switch (out.dtype()) {  // the front end accumulates u8 in i32 and f16/bf16 in f32
    case DType::F32: return scatter_add_launch<float>(out, dim, index, src);
    case DType::F64: return scatter_add_launch<double>(out, dim, index, src);
    case DType::I32: return scatter_add_launch<int32_t>(out, dim, index, src);
    case DType::I64: return scatter_add_launch<int64_t>(out, dim, index, src);
    default: fail(ErrorKind::DType, "scatter_add", "unsupported dtype ", dtype_name(out.dtype()), " on CUDA");
  }
}

// ---- one_hot ----

__global__ void one_hot_fill(const int64_t* index, int64_t classes, int64_t total, int64_t* out) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x)
    out[e] = index[e / classes] == e % classes ? 1 : 0;
}

void one_hot_kernel(const Tensor& index, Tensor& out) {
  int64_t total = out.numel();
  launch(one_hot_fill, blocks_for(total, kThreads), dim3(kThreads), 0, "one_hot", index.data<int64_t>(), out.size(-1),
         total, out.data<int64_t>());
}

// ---- sort / topk: bitonic network ----
//
// A row of n elements is padded to P = 2^m >= n slots; padding slots carry positions >= n and sort
// after every real element. For each stage `size` = 2, 4, ..., P and step `stride` = size/2, ..., 1,
// slot t is compared with slot t ^ stride; within blocks of `size` slots whose bit (t & size) is 0
// the pair is put in order, otherwise in reverse, which leaves the row sorted after the last stage.

template <typename T>
__device__ __forceinline__ bool slot_before(T a, int64_t ia, T b, int64_t ib, int64_t n, bool descending) {
  if (ia >= n || ib >= n) return ia < ib;  // padding goes last
  return sorts_before(a, ia, b, ib, descending);
}

// One compare-exchange of the network on slots t < partner of one row.
template <typename T, typename I>
__device__ __forceinline__ void compare_exchange(T* key, I* pos, int64_t t, int64_t partner, int64_t size, int64_t n,
                                                 bool descending) {
  bool forward = (t & size) == 0;
  bool swap = forward ? slot_before(key[partner], pos[partner], key[t], pos[t], n, descending)
                      : slot_before(key[t], pos[t], key[partner], pos[partner], n, descending);
  if (swap) {
    T k = key[t];
    key[t] = key[partner];
    key[partner] = k;
    I p = pos[t];
    pos[t] = pos[partner];
    pos[partner] = p;
  }
}

// One block per row, the whole network in shared memory: positions (int32, n <= kSharedSortMax)
// first, then keys — positions take 4 * P bytes, a multiple of 8, so the keys stay aligned.
template <typename T>
__global__ void bitonic_sort_shared(const T* x, int64_t n, int64_t slots, int64_t k, bool descending, T* values,
                                    int64_t* indices) {
  MM_DYNAMIC_SHARED(unsigned char, smem);
  int32_t* pos = reinterpret_cast<int32_t*>(smem);
  T* key = reinterpret_cast<T*>(smem + slots * sizeof(int32_t));
  const T* row = x + blockIdx.x * n;
  for (int64_t t = threadIdx.x; t < slots; t += blockDim.x) {
    pos[t] = static_cast<int32_t>(t);
    key[t] = t < n ? row[t] : T(0);
  }
  __syncthreads();
  for (int64_t size = 2; size <= slots; size <<= 1)
    for (int64_t stride = size >> 1; stride > 0; stride >>= 1) {
      for (int64_t t = threadIdx.x; t < slots; t += blockDim.x)
        if ((t ^ stride) > t) compare_exchange(key, pos, t, t ^ stride, size, n, descending);
      __syncthreads();
    }
  for (int64_t t = threadIdx.x; t < k; t += blockDim.x) {
    values[blockIdx.x * k + t] = key[t];
    indices[blockIdx.x * k + t] = pos[t];
  }
}

// Long rows: the padded rows live in global scratch; each launch runs one network step on all rows.
template <typename T>
__global__ void bitonic_init(const T* x, int64_t rows, int64_t n, int64_t slots, T* key, int64_t* pos) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < rows * slots;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t r = e / slots, t = e % slots;
    pos[e] = t;
    key[e] = t < n ? x[r * n + t] : T(0);
  }
}

template <typename T>
__global__ void bitonic_step(T* key, int64_t* pos, int64_t rows, int64_t n, int64_t slots, int64_t size,
                             int64_t stride, bool descending) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < rows * slots;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t r = e / slots, t = e % slots;
    if ((t ^ stride) > t) compare_exchange(key + r * slots, pos + r * slots, t, t ^ stride, size, n, descending);
  }
}

template <typename T>
__global__ void bitonic_take(const T* key, const int64_t* pos, int64_t rows, int64_t slots, int64_t k, T* values,
                             int64_t* indices) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < rows * k;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t r = e / k, t = e % k;
    values[e] = key[r * slots + t];
    indices[e] = pos[r * slots + t];
  }
}

template <typename T>
void sort_rows(const Tensor& rows, int64_t k, bool descending, Tensor& values, Tensor& indices) {
  int64_t num_rows = rows.size(0), n = rows.size(1);
  int64_t slots = 2;
  while (slots < n) slots <<= 1;
  const T* x = rows.data<T>();
  if (n <= kSharedSortMax) {
    MM_CHECK(num_rows <= 2147483647LL, Shape, "sort", "too many rows for one grid: ", num_rows);
    int threads = static_cast<int>(std::min<int64_t>(slots, kMaxThreadsPerBlock));
    size_t shared = static_cast<size_t>(slots) * (sizeof(int32_t) + sizeof(T));
    launch(bitonic_sort_shared<T>, dim3(static_cast<unsigned>(num_rows)), dim3(threads), shared, "sort", x, n, slots, k,
           descending, values.data<T>(), indices.data<int64_t>());
    return;
  }
  Tensor key = Tensor::empty({num_rows * slots}, rows.dtype(), rows.device());
  Tensor pos = Tensor::empty({num_rows * slots}, DType::I64, rows.device());
  T* kp = key.data<T>();
  int64_t* pp = pos.data<int64_t>();
  dim3 grid = blocks_for(num_rows * slots, kThreads);
  launch(bitonic_init<T>, grid, dim3(kThreads), 0, "sort", x, num_rows, n, slots, kp, pp);
  for (int64_t size = 2; size <= slots; size <<= 1)
    for (int64_t stride = size >> 1; stride > 0; stride >>= 1)
      launch(bitonic_step<T>, grid, dim3(kThreads), 0, "sort", kp, pp, num_rows, n, slots, size, stride, descending);
  launch(bitonic_take<T>, blocks_for(num_rows * k, kThreads), dim3(kThreads), 0, "sort", kp, pp, num_rows, slots, k,
         values.data<T>(), indices.data<int64_t>());
}

void sort_kernel(const Tensor& rows, int64_t k, bool descending, Tensor& values, Tensor& indices) {
  MM_DISPATCH_NUMERIC(rows.dtype(), "sort", [&] { sort_rows<scalar_t>(rows, k, descending, values, indices); });
}

}  // namespace

MM_REGISTER_KERNEL(gather, CUDA, &gather_kernel);
MM_REGISTER_KERNEL(index_select, CUDA, &gather_kernel);
MM_REGISTER_KERNEL(scatter_add, CUDA, &scatter_add_kernel);
MM_REGISTER_KERNEL(one_hot, CUDA, &one_hot_kernel);
MM_REGISTER_KERNEL(sort, CUDA, &sort_kernel);
MM_REGISTER_KERNEL(topk, CUDA, &sort_kernel);

}  // namespace mm::cuda
