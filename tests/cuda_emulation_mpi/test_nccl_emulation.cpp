// The emulated NCCL (runtime/cuda/emulation/nccl_mpi.cpp) against references computed here from
// the known per-rank inputs: rank r contributes contribution(r, i) to element i, and the expected
// result is computed locally from every rank's contribution in 64-bit modular integer arithmetic or
// long double (the inputs are chosen so that this is exact), never by the code under test.
//
// An MPI program with its own main: run it under mpirun with any number of ranks (CI: -np 2 and
// -np 4). Every rank runs every test in the same order and makes the same NCCL calls, whatever its
// checks find (EXPECT, not ASSERT, between collectives), so a failure on one rank cannot leave the
// others waiting in a collective; only an implementation whose groups do not defer their operations
// deadlocks (in RingExchangeInAGroup, after NestedGroupsRunAtTheOutermostEnd has failed), so run it
// under a timeout. Every rank exits non-zero if any rank failed. Do not run it with --gtest_shuffle
// or with a --gtest_filter that differs between ranks.
#define OMPI_SKIP_MPICXX 1  // the C API only: Open MPI's C++ bindings do not compile warning-free
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <nccl.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "runtime/cuda/emulation/emulator.h"

namespace mm::cuda::emu {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the reference writes integers' low bytes");

using Bytes = std::vector<std::byte>;

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Datatypes, inputs and the reference

enum class Num { Signed, Unsigned, Float };

struct TypeCase {
  ncclDataType_t type;
  const char* name;
  size_t size;
  Num num;
};

const TypeCase kTypes[] = {
    {ncclInt8, "int8", 1, Num::Signed},   {ncclUint8, "uint8", 1, Num::Unsigned},
    {ncclInt32, "int32", 4, Num::Signed}, {ncclUint32, "uint32", 4, Num::Unsigned},
    {ncclInt64, "int64", 8, Num::Signed}, {ncclUint64, "uint64", 8, Num::Unsigned},
    {ncclFloat16, "f16", 2, Num::Float},  {ncclBfloat16, "bf16", 2, Num::Float},
    {ncclFloat32, "f32", 4, Num::Float},  {ncclFloat64, "f64", 8, Num::Float},
};

const TypeCase& type_case(ncclDataType_t type) {
  for (const TypeCase& t : kTypes) {
    if (t.type == type) return t;
  }
  return kTypes[0];
}

const ncclRedOp_t kOps[] = {ncclSum, ncclProd, ncclMax, ncclMin, ncclAvg};

const char* op_name(ncclRedOp_t op) {
  switch (op) {
    case ncclSum: return "sum";
    case ncclProd: return "prod";
    case ncclMax: return "max";
    case ncclMin: return "min";
    case ncclAvg: return "avg";
    default: return "?";
  }
}

// A value of type t, from a long double the type represents exactly (floating point: rounded to
// nearest even, through float for the 16-bit types).
void encode(const TypeCase& t, long double v, std::byte* out) {
  auto put = [out](auto x) { std::memcpy(out, &x, sizeof x); };
  switch (t.type) {
    case ncclInt8: return put(static_cast<int8_t>(v));
    case ncclUint8: return put(static_cast<uint8_t>(v));
    case ncclInt32: return put(static_cast<int32_t>(v));
    case ncclUint32: return put(static_cast<uint32_t>(v));
    case ncclInt64: return put(static_cast<int64_t>(v));
    case ncclUint64: return put(static_cast<uint64_t>(v));
    case ncclFloat16: return put(__float2half_rn(static_cast<float>(v)));
    case ncclBfloat16: return put(__float2bfloat16_rn(static_cast<float>(v)));
    case ncclFloat32: return put(static_cast<float>(v));
    case ncclFloat64: return put(static_cast<double>(v));
    default: return;
  }
}

long double decode(const TypeCase& t, const std::byte* p) {
  auto get = [p](auto x) {
    std::memcpy(&x, p, sizeof x);
    return x;
  };
  switch (t.type) {
    case ncclInt8: return get(int8_t{});
    case ncclUint8: return get(uint8_t{});
    case ncclInt32: return get(int32_t{});
    case ncclUint32: return get(uint32_t{});
    case ncclInt64: return get(int64_t{});
    case ncclUint64: return get(uint64_t{});
    case ncclFloat16: return __half2float(get(__half{}));
    case ncclBfloat16: return __bfloat162float(get(__nv_bfloat16{}));
    case ncclFloat32: return get(float{});
    case ncclFloat64: return get(double{});
    default: return 0;
  }
}

// What rank r contributes to element i.
using Contribution = std::function<long double(int rank, size_t i)>;

// Small values whose sums, products, extremes (and, for power-of-two rank counts, averages) are
// exact in every type; the signed ones and the sums have both signs, so ncclAvg's truncation shows.
Contribution small_values(const TypeCase& t, ncclRedOp_t op) {
  const bool is_unsigned = t.num == Num::Unsigned;
  if (op == ncclProd) {
    return [is_unsigned](int r, size_t i) -> long double {
      const size_t k = static_cast<size_t>(r) + 2 * i;
      if (is_unsigned) return 1 + static_cast<long double>(k % 3);
      static const long double factors[] = {1, -1, 2, -2};
      return factors[k % 4];
    };
  }
  return [is_unsigned](int r, size_t i) -> long double {
    const long double v = static_cast<long double>((static_cast<size_t>(r) * 7 + i * 5) % 13);
    return is_unsigned ? v : v - 6;
  };
}

// Values near the top of an integer type, so that sums and products wrap.
Contribution wrapping_values(const TypeCase& t) {
  return [type = t.type](int r, size_t i) -> long double {
    const long double k = static_cast<long double>((static_cast<size_t>(r) + i) % 4);
    switch (type) {
      case ncclInt8: return 120 + k;
      case ncclUint8: return 250 + k;
      case ncclInt32: return 2147483644.0L + k;
      case ncclUint32: return 4294967292.0L + k;
      case ncclInt64: return 4611686018427387904.0L + k * 1152921504606846976.0L;   // 2^62 + k 2^60
      case ncclUint64: return 9223372036854775808.0L + k * 2305843009213693952.0L;  // 2^63 + k 2^61
      default: return 0;
    }
  };
}

uint64_t as_u64(long double v) {
  return v < 0 ? static_cast<uint64_t>(static_cast<int64_t>(v)) : static_cast<uint64_t>(v);
}

// An integer reduction in 64-bit modular arithmetic, cut to the type's width: wrapping like a
// two's-complement machine of that width.
void expected_integer(const TypeCase& t, ncclRedOp_t op, const std::vector<long double>& v,
                      std::byte* out) {
  const int bits = static_cast<int>(t.size) * 8;
  const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  uint64_t acc = as_u64(v[0]);
  long double extreme = v[0];
  for (size_t r = 1; r < v.size(); ++r) {
    acc = op == ncclProd ? acc * as_u64(v[r]) : acc + as_u64(v[r]);
    extreme = op == ncclMax ? std::max(extreme, v[r]) : std::min(extreme, v[r]);
  }
  if (op == ncclMax || op == ncclMin) acc = as_u64(extreme);
  acc &= mask;
  if (op == ncclAvg) {
    const bool negative = t.num == Num::Signed && (acc >> (bits - 1)) != 0;
    const long double sum =
        negative ? -static_cast<long double>((~acc + 1) & mask) : static_cast<long double>(acc);
    acc = as_u64(std::trunc(sum / static_cast<long double>(v.size()))) & mask;  // toward zero
  }
  std::memcpy(out, &acc, t.size);
}

// A floating-point reduction in long double, rounded to the type at the end.
void expected_float(const TypeCase& t, ncclRedOp_t op, const std::vector<long double>& v,
                    std::byte* out) {
  long double acc = v[0];
  for (size_t r = 1; r < v.size(); ++r) {
    switch (op) {
      case ncclProd: acc *= v[r]; break;
      case ncclMax: acc = std::max(acc, v[r]); break;
      case ncclMin: acc = std::min(acc, v[r]); break;
      default: acc += v[r]; break;
    }
  }
  if (op == ncclAvg) acc /= static_cast<long double>(v.size());
  encode(t, acc, out);
}

// The expected reduction of element `first + i` (i < count) over every rank.
Bytes expected_reduction(const TypeCase& t, ncclRedOp_t op, const Contribution& f, size_t first,
                         size_t count) {
  Bytes out(count * t.size);
  std::vector<long double> values(static_cast<size_t>(world_size()));
  for (size_t i = 0; i < count; ++i) {
    for (int r = 0; r < world_size(); ++r) values[static_cast<size_t>(r)] = f(r, first + i);
    std::byte* dst = out.data() + i * t.size;
    if (t.num == Num::Float) {
      expected_float(t, op, values, dst);
    } else {
      expected_integer(t, op, values, dst);
    }
  }
  return out;
}

// Rank r's elements first .. first + count - 1. The reference assumes that they are exactly the
// contributions, so a contribution the type cannot hold is a bug in the test.
Bytes inputs(const TypeCase& t, const Contribution& f, int rank, size_t first, size_t count) {
  Bytes out(count * t.size);
  for (size_t i = 0; i < count; ++i) {
    const long double v = f(rank, first + i);
    encode(t, v, out.data() + i * t.size);
    if (decode(t, out.data() + i * t.size) != v) {
      ADD_FAILURE() << "test input " << static_cast<double>(v) << " is not exact in " << t.name;
    }
  }
  return out;
}

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes filled(size_t bytes, unsigned char value) { return Bytes(bytes, std::byte{value}); }

// Element-wise comparison with readable failures (the first few of them).
void expect_elements(const TypeCase& t, const Bytes& got, const Bytes& want,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int reported = 0;
  for (size_t i = 0; i * t.size < got.size() && reported < 5; ++i) {
    const std::byte* g = got.data() + i * t.size;
    const std::byte* w = want.data() + i * t.size;
    if (std::memcmp(g, w, t.size) != 0) {
      ADD_FAILURE() << what << " (" << t.name << ", rank " << world_rank() << ") element " << i
                    << ": got " << static_cast<double>(decode(t, g)) << ", want "
                    << static_cast<double>(decode(t, w));
      ++reported;
    }
  }
}

// Whether `b` holds the same bytes on every rank.
bool same_on_all_ranks(const Bytes& b) {
  const int n = world_size();
  const int size = static_cast<int>(b.size());
  Bytes all(b.size() * static_cast<size_t>(n));
  MPI_Allgather(b.data(), size, MPI_BYTE, all.data(), size, MPI_BYTE, MPI_COMM_WORLD);
  for (int r = 1; r < n; ++r) {
    if (std::memcmp(all.data(), all.data() + b.size() * static_cast<size_t>(r), b.size()) != 0) {
      return false;
    }
  }
  return true;
}

// Whether `condition` holds on every rank (so that every rank takes the same branch).
bool on_all_ranks(bool condition) {
  int mine = condition ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

// ---------------------------------------------------------------------------------------------
// Device buffers and communicators

class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    EXPECT_EQ(cudaMalloc(&ptr_, bytes), cudaSuccess);
  }
  explicit DeviceBuffer(const Bytes& contents) : DeviceBuffer(contents.size()) { upload(contents); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  std::byte* get() const { return static_cast<std::byte*>(ptr_); }
  void upload(const Bytes& b) {
    EXPECT_EQ(cudaMemcpy(ptr_, b.data(), b.size(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  Bytes download() const {
    Bytes b(bytes_);
    EXPECT_EQ(cudaMemcpy(b.data(), ptr_, bytes_, cudaMemcpyDeviceToHost), cudaSuccess);
    return b;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_;
};

// A unique id made on rank 0 of `comm` and broadcast over it, as an application does.
ncclUniqueId shared_id(MPI_Comm comm = MPI_COMM_WORLD) {
  ncclUniqueId id{};
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    EXPECT_EQ(ncclGetUniqueId(&id), ncclSuccess);
  }
  MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm);
  return id;
}

// A communicator over every rank, ranks as in MPI_COMM_WORLD (created together on every rank).
ncclComm_t new_world_comm() {
  ncclComm_t comm = nullptr;
  EXPECT_EQ(ncclCommInitRank(&comm, world_size(), shared_id(), world_rank()), ncclSuccess)
      << ncclGetLastError(nullptr);
  return comm;
}

ncclComm_t world_comm = nullptr;  // made by the environment below, shared by the tests

class WorldComm : public ::testing::Environment {
 public:
  void SetUp() override { world_comm = new_world_comm(); }
  void TearDown() override { EXPECT_EQ(ncclCommDestroy(world_comm), ncclSuccess); }
};

bool contains(const char* text, const std::string& part) {
  return text != nullptr && std::string(text).find(part) != std::string::npos;
}

// The call failed with `code` and ncclGetLastError names the call and the reason.
void expect_error(ncclResult_t result, ncclResult_t code, const std::string& call,
                  const std::string& reason) {
  EXPECT_EQ(result, code) << call << ": " << ncclGetErrorString(result);
  const char* message = ncclGetLastError(nullptr);
  EXPECT_TRUE(contains(message, call)) << "message: " << message;
  EXPECT_TRUE(contains(message, reason)) << "message: " << message << " (wanted: " << reason << ")";
}

std::string label(const TypeCase& t, ncclRedOp_t op) {
  return std::string(t.name) + " " + op_name(op);
}

// ---------------------------------------------------------------------------------------------
// Queries

TEST(NcclEmulation, VersionAndQueries) {
  int version = 0;
  EXPECT_EQ(ncclGetVersion(&version), ncclSuccess);
  EXPECT_EQ(version, NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH));
  int count = -1, rank = -1, device = -1;
  EXPECT_EQ(ncclCommCount(world_comm, &count), ncclSuccess);
  EXPECT_EQ(count, world_size());
  EXPECT_EQ(ncclCommUserRank(world_comm, &rank), ncclSuccess);
  EXPECT_EQ(rank, world_rank());
  int current = -1;
  EXPECT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(ncclCommCuDevice(world_comm, &device), ncclSuccess);
  EXPECT_EQ(device, current);
  EXPECT_EQ(device, 0);
  ncclResult_t async = ncclInternalError;
  EXPECT_EQ(ncclCommGetAsyncError(world_comm, &async), ncclSuccess);
  EXPECT_EQ(async, ncclSuccess);
}

TEST(NcclEmulation, UniqueIdsDiffer) {
  ncclUniqueId a{}, b{};
  EXPECT_EQ(ncclGetUniqueId(&a), ncclSuccess);
  EXPECT_EQ(ncclGetUniqueId(&b), ncclSuccess);
  EXPECT_NE(std::memcmp(&a, &b, sizeof a), 0);
  // and differ between processes
  EXPECT_TRUE(world_size() == 1 ||
              !same_on_all_ranks(Bytes(reinterpret_cast<std::byte*>(&a),
                                       reinterpret_cast<std::byte*>(&a) + sizeof a)));
}

TEST(NcclEmulation, ErrorStrings) {
  const ncclResult_t codes[] = {ncclSuccess,       ncclUnhandledCudaError, ncclSystemError,
                                ncclInternalError, ncclInvalidArgument,    ncclInvalidUsage,
                                ncclRemoteError,   ncclInProgress};
  std::vector<std::string> seen;
  for (ncclResult_t c : codes) {
    const char* s = ncclGetErrorString(c);
    ASSERT_NE(s, nullptr);
    EXPECT_FALSE(std::string(s).empty());
    EXPECT_EQ(std::count(seen.begin(), seen.end(), std::string(s)), 0) << s;
    seen.emplace_back(s);
  }
  EXPECT_EQ(std::string(ncclGetErrorString(ncclSuccess)), "no error");
}

// ---------------------------------------------------------------------------------------------
// Collectives

// ncclAllReduce of f on t with op, out of place or in place, on `stream`.
void check_all_reduce(const TypeCase& t, ncclRedOp_t op, const Contribution& f, bool in_place,
                      cudaStream_t stream = nullptr) {
  const size_t count = 37;
  const std::string what = label(t, op) + (in_place ? " in place" : " out of place");
  DeviceBuffer send(inputs(t, f, world_rank(), 0, count));
  DeviceBuffer recv_storage(filled(count * t.size, 0xA5));
  std::byte* recv = in_place ? send.get() : recv_storage.get();
  EXPECT_EQ(ncclAllReduce(send.get(), recv, count, t.type, op, world_comm, stream), ncclSuccess)
      << what << ": " << ncclGetLastError(nullptr);
  const Bytes got = in_place ? send.download() : recv_storage.download();
  expect_elements(t, got, expected_reduction(t, op, f, 0, count), "allreduce " + what);
  EXPECT_TRUE(same_on_all_ranks(got)) << what;
  if (!in_place) {
    expect_elements(t, send.download(), inputs(t, f, world_rank(), 0, count),
                    what + ": sendbuff changed");
  }
}

TEST(NcclEmulation, AllReduceEveryTypeAndOp) {
  for (const TypeCase& t : kTypes) {
    for (ncclRedOp_t op : kOps) {
      for (bool in_place : {false, true}) check_all_reduce(t, op, small_values(t, op), in_place);
    }
  }
}

TEST(NcclEmulation, AllReduceOnACreatedStream) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  for (ncclDataType_t type : {ncclInt32, ncclFloat32, ncclFloat64, ncclFloat16, ncclBfloat16}) {
    const TypeCase& t = type_case(type);
    check_all_reduce(t, ncclSum, small_values(t, ncclSum), false, stream);
  }
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(NcclEmulation, IntegerReductionsWrap) {
  for (const TypeCase& t : kTypes) {
    if (t.num == Num::Float) continue;
    for (ncclRedOp_t op : kOps) check_all_reduce(t, op, wrapping_values(t), false);
  }
}

// f16 and bf16 are reduced in float and rounded once: 2048 + 1 + 1 + 1 is 2052 in f16 (2051 rounded
// to even), where rounding after every addition would stay at 2048 (with 4 ranks; with 2 both give
// 2048).
TEST(NcclEmulation, SixteenBitTypesRoundOnce) {
  for (ncclDataType_t type : {ncclFloat16, ncclBfloat16}) {
    const TypeCase& t = type_case(type);
    const long double big = type == ncclFloat16 ? 2048 : 256;
    Contribution f = [big](int r, size_t i) -> long double {
      return r == 0 ? big + 2 * static_cast<long double>(i % 3) : 1;  // 2: the spacing at big
    };
    check_all_reduce(t, ncclSum, f, false);
    check_all_reduce(t, ncclAvg, f, false);
  }
}

// Inexact float sums: the same bits on every rank and on every run, equal to the rank-order
// accumulation the emulation promises.
TEST(NcclEmulation, FloatSumsAreDeterministicInRankOrder) {
  const size_t count = 1000;
  auto value = [](int r, size_t i) {
    uint32_t h = static_cast<uint32_t>(r) * 2654435761u ^ static_cast<uint32_t>(i) * 40503u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return std::ldexp(static_cast<float>(h & 0xFFFFFF), -20) - 8.0f;  // 24 significant bits
  };
  std::vector<float> mine(count), want(count);
  for (size_t i = 0; i < count; ++i) {
    mine[i] = value(world_rank(), i);
    float acc = value(0, i);
    for (int r = 1; r < world_size(); ++r) acc += value(r, i);
    want[i] = acc;
  }
  DeviceBuffer send(count * sizeof(float)), recv(count * sizeof(float));
  EXPECT_EQ(cudaMemcpy(send.get(), mine.data(), count * sizeof(float), cudaMemcpyHostToDevice),
            cudaSuccess);
  Bytes first;
  for (int run = 0; run < 2; ++run) {
    EXPECT_EQ(
        ncclAllReduce(send.get(), recv.get(), count, ncclFloat32, ncclSum, world_comm, nullptr),
        ncclSuccess);
    const Bytes got = recv.download();
    EXPECT_TRUE(same_on_all_ranks(got));
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size()), 0);
    if (run == 0) first = got;
    EXPECT_EQ(got, first);
  }
}

// ncclMax and ncclMin on floating point prefer a number to a NaN, like NCCL's fmax/fmin, whether
// the NaN comes first (element 0: from rank 0) or last (element 1: from the last rank).
TEST(NcclEmulation, FloatMaxAndMinPreferNumbersToNaN) {
  if (!on_all_ranks(world_size() >= 2)) GTEST_SKIP() << "needs two ranks";
  const int n = world_size(), me = world_rank();
  for (ncclDataType_t type : {ncclFloat16, ncclBfloat16, ncclFloat32, ncclFloat64}) {
    const TypeCase& t = type_case(type);
    Bytes mine(2 * t.size);
    encode(t, me == 0 ? NAN : me, mine.data());
    encode(t, me == n - 1 ? NAN : me, mine.data() + t.size);
    for (ncclRedOp_t op : {ncclMax, ncclMin}) {
      DeviceBuffer send(mine), recv(2 * t.size);
      EXPECT_EQ(ncclAllReduce(send.get(), recv.get(), 2, t.type, op, world_comm, nullptr),
                ncclSuccess);
      Bytes want(2 * t.size);
      encode(t, op == ncclMax ? n - 1 : 1, want.data());
      encode(t, op == ncclMax ? n - 2 : 0, want.data() + t.size);
      expect_elements(t, recv.download(), want, label(t, op) + " with a NaN");
    }
  }
}

TEST(NcclEmulation, BroadcastFromEveryRoot) {
  const size_t count = 23;
  for (const TypeCase& t : kTypes) {
    const Contribution f = small_values(t, ncclSum);
    for (int root = 0; root < world_size(); ++root) {
      const bool at_root = world_rank() == root;
      const Bytes mine = inputs(t, f, world_rank(), 0, count);
      const Bytes want = inputs(t, f, root, 0, count);
      const std::string what = std::string(t.name) + " root " + std::to_string(root);
      {  // out of place; sendbuff is ignored (here NULL) except at the root
        DeviceBuffer send(mine), recv(filled(count * t.size, 0xA5));
        EXPECT_EQ(ncclBroadcast(at_root ? send.get() : nullptr, recv.get(), count, t.type, root,
                                world_comm, nullptr),
                  ncclSuccess)
            << what << ": " << ncclGetLastError(nullptr);
        expect_elements(t, recv.download(), want, "broadcast " + what);
        expect_elements(t, send.download(), mine, "broadcast " + what + ": sendbuff changed");
      }
      {  // in place
        DeviceBuffer buffer(at_root ? mine : filled(count * t.size, 0xA5));
        EXPECT_EQ(
            ncclBroadcast(buffer.get(), buffer.get(), count, t.type, root, world_comm, nullptr),
            ncclSuccess)
            << what << ": " << ncclGetLastError(nullptr);
        expect_elements(t, buffer.download(), want, "in-place broadcast " + what);
      }
    }
  }
}

TEST(NcclEmulation, ReduceToEveryRoot) {
  const size_t count = 19;
  for (const TypeCase& t : kTypes) {
    for (ncclRedOp_t op : kOps) {
      const Contribution f = small_values(t, op);
      const Bytes mine = inputs(t, f, world_rank(), 0, count);
      const Bytes want = expected_reduction(t, op, f, 0, count);
      for (int root = 0; root < world_size(); ++root) {
        const bool at_root = world_rank() == root;
        const std::string what = label(t, op) + " root " + std::to_string(root);
        {  // out of place; recvbuff is NULL except at the root
          DeviceBuffer send(mine), recv(filled(count * t.size, 0xA5));
          EXPECT_EQ(ncclReduce(send.get(), at_root ? recv.get() : nullptr, count, t.type, op, root,
                               world_comm, nullptr),
                    ncclSuccess)
              << what << ": " << ncclGetLastError(nullptr);
          if (at_root) expect_elements(t, recv.download(), want, "reduce " + what);
        }
        {  // in place: the root's buffer gets the result, the others' stay as they were
          DeviceBuffer buffer(mine);
          EXPECT_EQ(
              ncclReduce(buffer.get(), buffer.get(), count, t.type, op, root, world_comm, nullptr),
              ncclSuccess)
              << what << ": " << ncclGetLastError(nullptr);
          expect_elements(t, buffer.download(), at_root ? want : mine, "in-place reduce " + what);
        }
      }
    }
  }
}

TEST(NcclEmulation, AllGather) {
  const size_t count = 13;
  const size_t n = static_cast<size_t>(world_size());
  const size_t me = static_cast<size_t>(world_rank());
  for (const TypeCase& t : kTypes) {
    const Contribution f = small_values(t, ncclSum);
    const Bytes mine = inputs(t, f, world_rank(), 0, count);
    Bytes want;
    for (int r = 0; r < world_size(); ++r) want = concat(want, inputs(t, f, r, 0, count));
    {  // out of place
      DeviceBuffer send(mine), recv(filled(n * count * t.size, 0xA5));
      EXPECT_EQ(ncclAllGather(send.get(), recv.get(), count, t.type, world_comm, nullptr),
                ncclSuccess)
          << ncclGetLastError(nullptr);
      const Bytes got = recv.download();
      expect_elements(t, got, want, "allgather");
      EXPECT_TRUE(same_on_all_ranks(got));
    }
    {  // in place: sendbuff = recvbuff + rank * count
      Bytes initial = filled(n * count * t.size, 0xA5);
      std::copy(mine.begin(), mine.end(),
                initial.begin() + static_cast<std::ptrdiff_t>(me * count * t.size));
      DeviceBuffer buffer(initial);
      EXPECT_EQ(ncclAllGather(buffer.get() + me * count * t.size, buffer.get(), count, t.type,
                              world_comm, nullptr),
                ncclSuccess)
          << ncclGetLastError(nullptr);
      expect_elements(t, buffer.download(), want, "in-place allgather");
    }
  }
}

TEST(NcclEmulation, ReduceScatter) {
  const size_t count = 11;  // recvcount
  const size_t n = static_cast<size_t>(world_size());
  const size_t me = static_cast<size_t>(world_rank());
  for (const TypeCase& t : kTypes) {
    for (ncclRedOp_t op : kOps) {
      const Contribution f = small_values(t, op);
      const Bytes mine = inputs(t, f, world_rank(), 0, n * count);
      const Bytes want = expected_reduction(t, op, f, me * count, count);  // block `me`
      {                                                                    // out of place
        DeviceBuffer send(mine), recv(filled(count * t.size, 0xA5));
        EXPECT_EQ(ncclReduceScatter(send.get(), recv.get(), count, t.type, op, world_comm, nullptr),
                  ncclSuccess)
            << ncclGetLastError(nullptr);
        expect_elements(t, recv.download(), want, "reduce-scatter " + label(t, op));
      }
      {  // in place: recvbuff = sendbuff + rank * recvcount
        DeviceBuffer buffer(mine);
        std::byte* block = buffer.get() + me * count * t.size;
        EXPECT_EQ(ncclReduceScatter(buffer.get(), block, count, t.type, op, world_comm, nullptr),
                  ncclSuccess)
            << ncclGetLastError(nullptr);
        const Bytes got = buffer.download();
        const Bytes got_block(got.begin() + static_cast<std::ptrdiff_t>(me * count * t.size),
                              got.begin() + static_cast<std::ptrdiff_t>((me + 1) * count * t.size));
        expect_elements(t, got_block, want, "in-place reduce-scatter " + label(t, op));
      }
    }
  }
}

// Collectives with count 0 move nothing and accept NULL buffers.
TEST(NcclEmulation, EmptyCollectives) {
  EXPECT_EQ(ncclAllReduce(nullptr, nullptr, 0, ncclFloat32, ncclSum, world_comm, nullptr),
            ncclSuccess);
  EXPECT_EQ(ncclBroadcast(nullptr, nullptr, 0, ncclFloat32, 0, world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclReduce(nullptr, nullptr, 0, ncclFloat32, ncclMax, 0, world_comm, nullptr),
            ncclSuccess);
  EXPECT_EQ(ncclAllGather(nullptr, nullptr, 0, ncclFloat32, world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclReduceScatter(nullptr, nullptr, 0, ncclFloat32, ncclSum, world_comm, nullptr),
            ncclSuccess);
}

// ---------------------------------------------------------------------------------------------
// Point to point and groups

int next_rank() { return (world_rank() + 1) % world_size(); }
int previous_rank() { return (world_rank() + world_size() - 1) % world_size(); }

// Nested groups run at the outermost ncclGroupEnd only.
TEST(NcclEmulation, NestedGroupsRunAtTheOutermostEnd) {
  const TypeCase& t = type_case(ncclFloat32);
  const Contribution f = small_values(t, ncclSum);
  const size_t count = 5;
  const Bytes untouched = filled(count * t.size, 0xA5);
  DeviceBuffer send(inputs(t, f, world_rank(), 0, count)), recv(untouched);
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), count, t.type, next_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclRecv(recv.get(), count, t.type, previous_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess);
  EXPECT_EQ(recv.download(), untouched);  // still queued
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(nullptr);
  expect_elements(t, recv.download(), inputs(t, f, previous_rank(), 0, count), "nested group");
}

// Every rank sends to both neighbours before it receives: this completes only because the group
// posts everything before waiting. `count` elements of each type, then 1 MiB, more than MPI sends
// eagerly, so that sends that waited for their receives would deadlock.
void check_ring_exchange(const TypeCase& t, size_t count) {
  const Contribution f = small_values(t, ncclSum);
  DeviceBuffer send(inputs(t, f, world_rank(), 0, count));
  DeviceBuffer from_previous(filled(count * t.size, 0xA5)), from_next(filled(count * t.size, 0xA5));
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), count, t.type, next_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), count, t.type, previous_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclRecv(from_previous.get(), count, t.type, previous_rank(), world_comm, nullptr),
            ncclSuccess);
  EXPECT_EQ(ncclRecv(from_next.get(), count, t.type, next_rank(), world_comm, nullptr),
            ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(nullptr);
  // (with one or two ranks previous == next: its two messages arrive in the order they were sent)
  expect_elements(t, from_previous.download(), inputs(t, f, previous_rank(), 0, count), "ring");
  expect_elements(t, from_next.download(), inputs(t, f, next_rank(), 0, count), "reverse ring");
}

TEST(NcclEmulation, RingExchangeInAGroup) {
  for (const TypeCase& t : kTypes) check_ring_exchange(t, 29);
  check_ring_exchange(type_case(ncclInt32), size_t{1} << 18);
}

TEST(NcclEmulation, SendToSelfInAGroup) {
  const TypeCase& t = type_case(ncclInt64);
  const Contribution f = small_values(t, ncclSum);
  DeviceBuffer send(inputs(t, f, world_rank(), 0, 7)), recv(filled(7 * t.size, 0xA5));
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclRecv(recv.get(), 7, t.type, world_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), 7, t.type, world_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(nullptr);
  expect_elements(t, recv.download(), inputs(t, f, world_rank(), 0, 7), "self");
}

// Collectives and point-to-point operations on several communicators in one group.
TEST(NcclEmulation, MixedGroup) {
  ncclComm_t other = new_world_comm();
  const TypeCase& t = type_case(ncclInt32);
  const size_t count = 9;
  const Contribution f = small_values(t, ncclSum);
  DeviceBuffer send(inputs(t, f, world_rank(), 0, count));
  DeviceBuffer sum(count * t.size), max(count * t.size), ring(count * t.size);
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclAllReduce(send.get(), sum.get(), count, t.type, ncclSum, world_comm, nullptr),
            ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), count, t.type, next_rank(), other, nullptr), ncclSuccess);
  EXPECT_EQ(ncclAllReduce(send.get(), max.get(), count, t.type, ncclMax, other, nullptr),
            ncclSuccess);
  EXPECT_EQ(ncclRecv(ring.get(), count, t.type, previous_rank(), other, nullptr), ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(nullptr);
  expect_elements(t, sum.download(), expected_reduction(t, ncclSum, f, 0, count), "group sum");
  expect_elements(t, max.download(), expected_reduction(t, ncclMax, f, 0, count), "group max");
  expect_elements(t, ring.download(), inputs(t, f, previous_rank(), 0, count), "group ring");
  EXPECT_EQ(ncclCommDestroy(other), ncclSuccess);
}

// ---------------------------------------------------------------------------------------------
// Stream order

// A closure queued on the stream before the call writes the send buffer: the call must run it
// first. A closure queued after the call must see the result.
TEST(NcclEmulation, CallsFlushTheirStreamFirst) {
  const TypeCase& t = type_case(ncclFloat32);
  const Contribution f = small_values(t, ncclSum);
  const size_t count = 17;
  const Bytes mine = inputs(t, f, world_rank(), 0, count);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  DeviceBuffer send(filled(count * t.size, 0)), recv(count * t.size), copy(count * t.size);
  EXPECT_EQ(enqueue(stream, [&] { std::memcpy(send.get(), mine.data(), mine.size()); }),
            cudaSuccess);
  EXPECT_EQ(ncclAllReduce(send.get(), recv.get(), count, t.type, ncclSum, world_comm, stream),
            ncclSuccess);
  EXPECT_EQ(enqueue(stream, [&] { std::memcpy(copy.get(), recv.get(), count * t.size); }),
            cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  const Bytes want = expected_reduction(t, ncclSum, f, 0, count);
  expect_elements(t, recv.download(), want, "allreduce after a queued write");
  expect_elements(t, copy.download(), want, "work queued after the allreduce");
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// In a group the operations start at ncclGroupEnd, so work queued between the call and
// ncclGroupEnd comes first (as on a GPU, where ncclGroupEnd enqueues the kernel).
TEST(NcclEmulation, GroupsFlushAtGroupEnd) {
  const TypeCase& t = type_case(ncclUint32);
  const Contribution f = small_values(t, ncclSum);
  const size_t count = 6;
  const Bytes mine = inputs(t, f, world_rank(), 0, count);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  DeviceBuffer send(filled(count * t.size, 0)), recv(filled(count * t.size, 0xA5));
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), count, t.type, next_rank(), world_comm, stream), ncclSuccess);
  EXPECT_EQ(ncclRecv(recv.get(), count, t.type, previous_rank(), world_comm, stream), ncclSuccess);
  EXPECT_EQ(enqueue(stream, [&] { std::memcpy(send.get(), mine.data(), mine.size()); }),
            cudaSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(nullptr);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  expect_elements(t, recv.download(), inputs(t, f, previous_rank(), 0, count), "group send");
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// ---------------------------------------------------------------------------------------------
// Several communicators

TEST(NcclEmulation, SeveralCommunicatorsCoexist) {
  // Two halves (even and odd world ranks), created in the same round, plus the world communicator.
  const int color = world_rank() % 2;
  MPI_Comm half_mpi = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, color, world_rank(), &half_mpi);
  int half_rank = 0, half_size = 0;
  MPI_Comm_rank(half_mpi, &half_rank);
  MPI_Comm_size(half_mpi, &half_size);
  ncclComm_t half = nullptr;
  EXPECT_EQ(ncclCommInitRank(&half, half_size, shared_id(half_mpi), half_rank), ncclSuccess)
      << ncclGetLastError(nullptr);
  int count = 0, rank = -1;
  EXPECT_EQ(ncclCommCount(half, &count), ncclSuccess);
  EXPECT_EQ(count, half_size);
  EXPECT_EQ(ncclCommUserRank(half, &rank), ncclSuccess);
  EXPECT_EQ(rank, half_rank);

  int64_t want_half = 0, want_world = 0;
  for (int r = 0; r < world_size(); ++r) {
    want_world += r + 1;
    if (r % 2 == color) want_half += r + 1;
  }
  const int64_t mine = world_rank() + 1;
  DeviceBuffer in(sizeof mine), out_half(sizeof mine), out_world(sizeof mine);
  EXPECT_EQ(cudaMemcpy(in.get(), &mine, sizeof mine, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(ncclAllReduce(in.get(), out_half.get(), 1, ncclInt64, ncclSum, half, nullptr),
            ncclSuccess);
  EXPECT_EQ(ncclAllReduce(in.get(), out_world.get(), 1, ncclInt64, ncclSum, world_comm, nullptr),
            ncclSuccess);
  int64_t got_half = 0, got_world = 0;
  EXPECT_EQ(cudaMemcpy(&got_half, out_half.get(), sizeof got_half, cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_EQ(cudaMemcpy(&got_world, out_world.get(), sizeof got_world, cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_EQ(got_half, want_half);
  EXPECT_EQ(got_world, want_world);
  EXPECT_EQ(ncclCommDestroy(half), ncclSuccess);
  MPI_Comm_free(&half_mpi);
}

// ---------------------------------------------------------------------------------------------
// Errors. Every rank makes the same failing calls, which fail before communicating.

TEST(NcclEmulation, InvalidCommunicators) {
  DeviceBuffer a(64), b(64);
  for (ncclComm_t bad : {static_cast<ncclComm_t>(nullptr), reinterpret_cast<ncclComm_t>(&a)}) {
    const std::string reason = bad == nullptr ? "comm argument is NULL" : "not a live communicator";
    expect_error(ncclAllReduce(a.get(), b.get(), 4, ncclFloat32, ncclSum, bad, nullptr),
                 ncclInvalidArgument, "ncclAllReduce", reason);
    expect_error(ncclBroadcast(a.get(), b.get(), 4, ncclFloat32, 0, bad, nullptr),
                 ncclInvalidArgument, "ncclBroadcast", reason);
    expect_error(ncclReduce(a.get(), b.get(), 4, ncclFloat32, ncclSum, 0, bad, nullptr),
                 ncclInvalidArgument, "ncclReduce", reason);
    expect_error(ncclAllGather(a.get(), b.get(), 1, ncclFloat32, bad, nullptr), ncclInvalidArgument,
                 "ncclAllGather", reason);
    expect_error(ncclReduceScatter(a.get(), b.get(), 1, ncclFloat32, ncclSum, bad, nullptr),
                 ncclInvalidArgument, "ncclReduceScatter", reason);
    expect_error(ncclSend(a.get(), 4, ncclFloat32, 0, bad, nullptr), ncclInvalidArgument,
                 "ncclSend", reason);
    expect_error(ncclRecv(b.get(), 4, ncclFloat32, 0, bad, nullptr), ncclInvalidArgument,
                 "ncclRecv", reason);
    int value = 0;
    ncclResult_t async = ncclSuccess;
    expect_error(ncclCommCount(bad, &value), ncclInvalidArgument, "ncclCommCount", reason);
    expect_error(ncclCommUserRank(bad, &value), ncclInvalidArgument, "ncclCommUserRank", reason);
    expect_error(ncclCommCuDevice(bad, &value), ncclInvalidArgument, "ncclCommCuDevice", reason);
    expect_error(ncclCommGetAsyncError(bad, &async), ncclInvalidArgument, "ncclCommGetAsyncError",
                 reason);
  }
  // A destroyed communicator is rejected; destroying NULL is allowed, as in NCCL.
  ncclComm_t gone = new_world_comm();
  EXPECT_EQ(ncclCommDestroy(gone), ncclSuccess);
  expect_error(ncclAllReduce(a.get(), b.get(), 4, ncclFloat32, ncclSum, gone, nullptr),
               ncclInvalidArgument, "ncclAllReduce", "not a live communicator");
  expect_error(ncclCommDestroy(gone), ncclInvalidArgument, "ncclCommDestroy",
               "not a live communicator");
  EXPECT_EQ(ncclCommDestroy(nullptr), ncclSuccess);
  EXPECT_EQ(ncclCommAbort(nullptr), ncclSuccess);
}

TEST(NcclEmulation, InvalidDatatypesAndOps) {
  DeviceBuffer a(64), b(64);
  // (only values inside the enums' ranges: converting others to the enum type is undefined)
  for (int type : {static_cast<int>(ncclFloat8e4m3), static_cast<int>(ncclFloat8e5m2),
                   static_cast<int>(ncclNumTypes), 15}) {
    const auto bad = static_cast<ncclDataType_t>(type);
    expect_error(ncclAllReduce(a.get(), b.get(), 4, bad, ncclSum, world_comm, nullptr),
                 ncclInvalidArgument, "ncclAllReduce", "datatype");
    expect_error(ncclBroadcast(a.get(), b.get(), 4, bad, 0, world_comm, nullptr),
                 ncclInvalidArgument, "ncclBroadcast", "datatype");
    expect_error(ncclAllGather(a.get(), b.get(), 1, bad, world_comm, nullptr), ncclInvalidArgument,
                 "ncclAllGather", "datatype");
    expect_error(ncclSend(a.get(), 4, bad, 0, world_comm, nullptr), ncclInvalidArgument, "ncclSend",
                 "datatype");
    expect_error(ncclRecv(b.get(), 4, bad, 0, world_comm, nullptr), ncclInvalidArgument, "ncclRecv",
                 "datatype");
  }
  for (int op : {static_cast<int>(ncclNumOps), 77, static_cast<int>(ncclMaxRedOp)}) {
    const auto bad = static_cast<ncclRedOp_t>(op);
    expect_error(ncclAllReduce(a.get(), b.get(), 4, ncclFloat32, bad, world_comm, nullptr),
                 ncclInvalidArgument, "ncclAllReduce", "reduction operation");
    expect_error(ncclReduce(a.get(), b.get(), 4, ncclFloat32, bad, 0, world_comm, nullptr),
                 ncclInvalidArgument, "ncclReduce", "reduction operation");
    expect_error(ncclReduceScatter(a.get(), b.get(), 1, ncclFloat32, bad, world_comm, nullptr),
                 ncclInvalidArgument, "ncclReduceScatter", "reduction operation");
  }
}

TEST(NcclEmulation, InvalidRootsAndPeers) {
  DeviceBuffer a(64), b(64);
  for (int bad : {-1, world_size(), world_size() + 5}) {
    expect_error(ncclBroadcast(a.get(), b.get(), 4, ncclFloat32, bad, world_comm, nullptr),
                 ncclInvalidArgument, "ncclBroadcast", "invalid root");
    expect_error(ncclReduce(a.get(), b.get(), 4, ncclFloat32, ncclSum, bad, world_comm, nullptr),
                 ncclInvalidArgument, "ncclReduce", "invalid root");
    expect_error(ncclSend(a.get(), 4, ncclFloat32, bad, world_comm, nullptr), ncclInvalidArgument,
                 "ncclSend", "invalid peer");
    expect_error(ncclRecv(b.get(), 4, ncclFloat32, bad, world_comm, nullptr), ncclInvalidArgument,
                 "ncclRecv", "invalid peer");
  }
}

TEST(NcclEmulation, InvalidBuffers) {
  const size_t count = 4;
  DeviceBuffer a(count * sizeof(float)), b(count * sizeof(float));
  std::vector<float> host(64);
  expect_error(ncclAllReduce(nullptr, b.get(), count, ncclFloat32, ncclSum, world_comm, nullptr),
               ncclInvalidArgument, "ncclAllReduce", "sendbuff argument is NULL");
  expect_error(ncclAllReduce(a.get(), nullptr, count, ncclFloat32, ncclSum, world_comm, nullptr),
               ncclInvalidArgument, "ncclAllReduce", "recvbuff argument is NULL");
  expect_error(ncclReduce(nullptr, b.get(), count, ncclFloat32, ncclSum, 0, world_comm, nullptr),
               ncclInvalidArgument, "ncclReduce", "sendbuff argument is NULL");
  expect_error(ncclSend(nullptr, count, ncclFloat32, 0, world_comm, nullptr), ncclInvalidArgument,
               "ncclSend", "sendbuff argument is NULL");
  expect_error(ncclRecv(nullptr, count, ncclFloat32, 0, world_comm, nullptr), ncclInvalidArgument,
               "ncclRecv", "recvbuff argument is NULL");
  // host memory is not device memory
  expect_error(
      ncclAllReduce(host.data(), b.get(), count, ncclFloat32, ncclSum, world_comm, nullptr),
      ncclInvalidArgument, "ncclAllReduce", "device allocation");
  expect_error(ncclBroadcast(a.get(), host.data(), count, ncclFloat32, 0, world_comm, nullptr),
               ncclInvalidArgument, "ncclBroadcast", "device allocation");
  // a count larger than the buffers
  expect_error(
      ncclAllReduce(a.get(), b.get(), count + 1, ncclFloat32, ncclSum, world_comm, nullptr),
      ncclInvalidArgument, "ncclAllReduce", "device allocation");
  expect_error(
      ncclAllReduce(a.get() + 4, b.get(), count, ncclFloat32, ncclSum, world_comm, nullptr),
      ncclInvalidArgument, "ncclAllReduce", "device allocation");
  if (world_size() > 1) {  // recvbuff holds count, not nranks * count, elements
    expect_error(ncclAllGather(a.get(), b.get(), count, ncclFloat32, world_comm, nullptr),
                 ncclInvalidArgument, "ncclAllGather", "recvbuff");
    expect_error(
        ncclReduceScatter(a.get(), b.get(), count, ncclFloat32, ncclSum, world_comm, nullptr),
        ncclInvalidArgument, "ncclReduceScatter", "sendbuff");
  }
  // a count too large for MPI's int counts
  expect_error(
      ncclAllReduce(a.get(), b.get(), size_t{1} << 40, ncclFloat32, ncclSum, world_comm, nullptr),
      ncclInvalidArgument, "ncclAllReduce", "too large");
}

TEST(NcclEmulation, InvalidQueryArguments) {
  expect_error(ncclGetVersion(nullptr), ncclInvalidArgument, "ncclGetVersion", "NULL");
  expect_error(ncclGetUniqueId(nullptr), ncclInvalidArgument, "ncclGetUniqueId", "NULL");
  expect_error(ncclCommCount(world_comm, nullptr), ncclInvalidArgument, "ncclCommCount", "NULL");
  expect_error(ncclCommUserRank(world_comm, nullptr), ncclInvalidArgument, "ncclCommUserRank",
               "NULL");
  expect_error(ncclCommCuDevice(world_comm, nullptr), ncclInvalidArgument, "ncclCommCuDevice",
               "NULL");
  expect_error(ncclCommGetAsyncError(world_comm, nullptr), ncclInvalidArgument,
               "ncclCommGetAsyncError", "NULL");
}

TEST(NcclEmulation, InvalidStream) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  DeviceBuffer a(16), b(16);
  expect_error(ncclAllReduce(a.get(), b.get(), 4, ncclFloat32, ncclSum, world_comm, stream),
               ncclUnhandledCudaError, "ncclAllReduce", "stream");
}

TEST(NcclEmulation, GroupEndWithoutGroupStart) {
  expect_error(ncclGroupEnd(), ncclInvalidUsage, "ncclGroupEnd", "not in a group");
}

// A failed call inside a group fails the group: nothing of it runs, and the communicator still
// works afterwards (no stray messages were sent).
TEST(NcclEmulation, AFailedCallFailsItsGroup) {
  const TypeCase& t = type_case(ncclInt32);
  const Contribution f = small_values(t, ncclSum);
  const size_t count = 8;
  const Bytes untouched = filled(count * t.size, 0xA5);
  DeviceBuffer send(inputs(t, f, world_rank(), 0, count)), recv(untouched);
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), count, t.type, next_rank(), world_comm, nullptr), ncclSuccess);
  expect_error(ncclAllReduce(send.get(), recv.get(), count, t.type, static_cast<ncclRedOp_t>(42),
                             world_comm, nullptr),
               ncclInvalidArgument, "ncclAllReduce", "reduction operation");
  EXPECT_EQ(ncclRecv(recv.get(), count, t.type, previous_rank(), world_comm, nullptr), ncclSuccess);
  expect_error(ncclGroupEnd(), ncclInvalidArgument, "ncclGroupEnd", "reduction operation");
  EXPECT_EQ(recv.download(), untouched);

  // Fresh data now: had the failed group sent anything, this receive would match it instead.
  const Contribution g = [](int r, size_t i) -> long double {
    return 1000 + r * 10 + static_cast<long double>(i);
  };
  send.upload(inputs(t, g, world_rank(), 0, count));
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), count, t.type, next_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclRecv(recv.get(), count, t.type, previous_rank(), world_comm, nullptr), ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(nullptr);
  expect_elements(t, recv.download(), inputs(t, g, previous_rank(), 0, count),
                  "after a failed group");
}

// Destroying a communicator with operations queued in the open group is refused; aborting it drops
// them.
TEST(NcclEmulation, DestroyWithQueuedOperations) {
  ncclComm_t comm = new_world_comm();
  DeviceBuffer send(16);
  EXPECT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclSend(send.get(), 4, ncclFloat32, next_rank(), comm, nullptr), ncclSuccess);
  expect_error(ncclCommDestroy(comm), ncclInvalidUsage, "ncclCommDestroy", "open group");
  EXPECT_EQ(ncclCommAbort(comm), ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(nullptr);
}

// ncclCommInitRank: arguments that disagree with MPI fail on every rank instead of hanging.
TEST(NcclEmulation, CommInitRankChecksAgainstMpi) {
  const int n = world_size(), me = world_rank();
  struct Case {
    const char* name;
    int nranks;
    int rank;
    bool null_comm;
    const char* reason;  // what this rank's message must contain
  };
  std::vector<Case> cases = {
      {"too many ranks", n + 1, me, false, "nranks is"},
      {"rank out of range", n, n, false, "invalid rank"},
      {"nranks zero", 0, 0, false, "invalid nranks"},
      {"NULL comm", n, me, true, "comm argument is NULL"},
      {"one rank asks for more ranks", me == 0 ? n + 1 : n, me, false,
       n == 1 ? "nranks is" : "disagree on nranks"},
      {"one rank with a bad rank", n, me == 0 ? -1 : me, false,
       me == 0 ? "invalid rank" : "passed invalid arguments"},
  };
  if (n > 1) cases.push_back({"duplicate ranks", n, 0, false, "is requested by world ranks"});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ncclComm_t comm = reinterpret_cast<ncclComm_t>(&cases);  // must be reset to NULL
    expect_error(ncclCommInitRank(c.null_comm ? nullptr : &comm, c.nranks, shared_id(), c.rank),
                 ncclInvalidArgument, "ncclCommInitRank", c.reason);
    if (!c.null_comm) {
      EXPECT_EQ(comm, nullptr);
    }
  }
  // and the next creation works
  ncclComm_t comm = new_world_comm();
  EXPECT_NE(comm, nullptr);
  EXPECT_EQ(ncclCommDestroy(comm), ncclSuccess);
}

// An MPI failure (here: rank 1 receives fewer elements than rank 0 sends) is ncclSystemError, and
// sticks to the communicator until it is aborted.
TEST(NcclEmulation, MpiFailureIsASystemErrorAndSticks) {
  if (!on_all_ranks(world_size() >= 2)) GTEST_SKIP() << "needs two ranks";
  ncclComm_t comm = new_world_comm();
  DeviceBuffer buffer(8 * sizeof(int32_t));
  if (world_rank() == 0) {
    EXPECT_EQ(ncclSend(buffer.get(), 8, ncclInt32, 1, comm, nullptr), ncclSuccess);
  } else if (world_rank() == 1) {
    expect_error(ncclRecv(buffer.get(), 4, ncclInt32, 0, comm, nullptr), ncclSystemError,
                 "ncclRecv", "MPI");
    ncclResult_t async = ncclSuccess;
    EXPECT_EQ(ncclCommGetAsyncError(comm, &async), ncclSuccess);
    EXPECT_EQ(async, ncclSystemError);
    if (async == ncclSystemError) {  // else the allreduce would wait for the other ranks
      expect_error(ncclAllReduce(buffer.get(), buffer.get(), 1, ncclInt32, ncclSum, comm, nullptr),
                   ncclSystemError, "ncclAllReduce", "asynchronous error");
    }
  }
  EXPECT_EQ(ncclCommAbort(comm), ncclSuccess);
  MPI_Barrier(MPI_COMM_WORLD);
}

// Prints only failures, marked with the rank (the other ranks' output would interleave with rank
// 0's full report).
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", world_rank(),
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.summary());
  }
};

}  // namespace
}  // namespace mm::cuda::emu

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new mm::cuda::emu::WorldComm);
  const int rank = mm::cuda::emu::world_rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new mm::cuda::emu::FailurePrinter);
  }
  const int failed_here = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int failed_ranks = 0;
  MPI_Allreduce(&failed_here, &failed_ranks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("%d of %d rank(s) failed\n", failed_ranks, mm::cuda::emu::world_size());
  }
  MPI_Finalize();
  return failed_ranks == 0 ? 0 : 1;
}
