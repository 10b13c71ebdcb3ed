// Forward cases of the creation ops: arange, eye and the tril/triu masks against plain loops; rand,
// randn, randint and bernoulli against the per-element Philox functions of runtime/philox.h called
// directly for the generator state the case sets.
//
// Creation ops have no tensor input, but the harness chooses dtypes and devices through the inputs
// (f32/f64 casts; the CUDA suite moves inputs to the GPU). So each case takes one "carrier" tensor
// and creates its result with the carrier's dtype and device. Random cases call manual_seed inside
// run(), because the harness runs a case several times (dtypes, strided, CUDA) and each run must
// draw the same stream. Uniform draws differ between f32 (24 bits) and f64 (53 bits), so random
// cases come in one-dtype pairs, each with the matching reference.
#include <cmath>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

constexpr uint64_t kSeed = 20240917;

TensorList carrier() { return TensorList{Tensor::from_vector<double>({0.0}, {1})}; }

Ref loop_ref(const Shape& shape, const std::function<double(int64_t, int64_t)>& f) {  // 2-d [r, c]
  Ref r{shape, {}};
  for (int64_t i = 0; i < shape[0]; ++i)
    for (int64_t j = 0; j < shape[1]; ++j) r.values.push_back(f(i, j));
  return r;
}

void arange_case(const std::string& name, double start, double end, double step, bool one_arg = false) {
  register_forward_case({"arange", name, carrier,
                         [=](const TensorList& in) {
                           Tensor t = one_arg ? mm::arange(end, in[0].dtype(), in[0].device())
                                              : mm::arange(start, end, step, in[0].dtype(), in[0].device());
                           return TensorList{t};
                         },
                         [=](const std::vector<HostTensor>&) {
                           Ref r{{0}, {}};
                           for (double v = start; step > 0 ? v < end : v > end; v = start + step * r.values.size())
                             r.values.push_back(v);
                           r.shape = {static_cast<int64_t>(r.values.size())};
                           return std::vector<Ref>{r};
                         }});
}

void eye_case(int64_t n, int64_t m, bool as_bool = false) {
  register_forward_case({"eye", "n=" + std::to_string(n) + " m=" + std::to_string(m) + (as_bool ? " bool" : ""),
                         carrier,
                         [=](const TensorList& in) {
                           return TensorList{mm::eye(n, m, as_bool ? DType::Bool : in[0].dtype(), in[0].device())};
                         },
                         [=](const std::vector<HostTensor>&) {
                           Shape s{n, m < 0 ? n : m};
                           return std::vector<Ref>{loop_ref(s, [](int64_t i, int64_t j) { return i == j ? 1.0 : 0.0; })};
                         }});
}

void mask_case(bool upper, int64_t rows, int64_t cols, int64_t diagonal) {
  register_forward_case(
      {upper ? "triu_mask" : "tril_mask", std::to_string(rows) + "x" + std::to_string(cols) + " diagonal " + std::to_string(diagonal),
       carrier,
       [=](const TensorList& in) {
         return TensorList{upper ? mm::triu_mask(rows, cols, diagonal, in[0].device())
                                 : mm::tril_mask(rows, cols, diagonal, in[0].device())};
       },
       [=](const std::vector<HostTensor>&) {
         // Written as the definition of torch.triu/tril: keep (i, j) when j >= i + diagonal / j <= i + diagonal.
         return std::vector<Ref>{loop_ref({rows, cols}, [=](int64_t i, int64_t j) {
           return upper ? double(j >= i + diagonal) : double(j <= i + diagonal);
         })};
       }});
}

// A random case drawing `shape` with dtype `dt` only, after `skip` earlier draws of the same kind
// (so the case also checks that the second call starts at the right block). ref(i, offset) is the
// value philox.h defines for element i of an op whose blocks start at `offset`.
void random_case(const std::string& op, const std::string& name, DType dt, const Shape& shape, int64_t skip,
                 uint64_t skip_blocks, const std::function<Tensor(const Shape&, const Tensor&)>& draw,
                 const std::function<double(int64_t, uint64_t)>& ref) {
  ForwardCase c{op, name + " " + dtype_name(dt), carrier,
                [=](const TensorList& in) {
                  manual_seed(kSeed);
                  if (skip > 0) draw({skip}, in[0]);
                  return TensorList{draw(shape, in[0])};
                },
                [=](const std::vector<HostTensor>&) {
                  Ref r{shape, {}};
                  for (int64_t i = 0; i < shape_numel(shape); ++i) r.values.push_back(ref(i, skip_blocks));
                  return std::vector<Ref>{r};
                }};
  c.dtypes = {dt};
  // Uniform-based draws are exact integer arithmetic plus one scaling: identical bits. Normals go
  // through libm's log/sqrt/sin/cos; the kernel and this reference use the same expressions, but
  // allow an ulp-level difference in case the compiler treats the two call sites differently.
  const bool normal = op == "randn";
  c.rtol_f32 = normal ? 1e-6 : 0.0;
  c.atol_f32 = normal ? 1e-7 : 0.0;
  c.rtol_f64 = normal ? 1e-14 : 0.0;
  c.atol_f64 = normal ? 1e-15 : 0.0;
  register_forward_case(std::move(c));
}

void full_case(const std::string& name, const Shape& shape, double value, std::function<Tensor(const Tensor&)> make) {
  register_forward_case({"full", name, carrier, [make](const TensorList& in) { return TensorList{make(in[0])}; },
                         [=](const std::vector<HostTensor>&) {
                           return std::vector<Ref>{{shape, std::vector<double>(shape_numel(shape), value)}};
                         }});
}

const bool registered = [] {
  // full and its shorthands (the fill kernel lives in ops/cpu/copy.cpp; the op is a creation op).
  full_case("[2,3] value -1.25", {2, 3}, -1.25, [](const Tensor& c) { return full({2, 3}, -1.25, c.dtype(), c.device()); });
  full_case("zeros [4]", {4}, 0.0, [](const Tensor& c) { return zeros({4}, c.dtype(), c.device()); });
  full_case("ones 0-d", {}, 1.0, [](const Tensor& c) { return ones({}, c.dtype(), c.device()); });
  full_case("empty [0,3]", {0, 3}, 7.0, [](const Tensor& c) { return full({0, 3}, 7.0, c.dtype(), c.device()); });
  full_case("i64 value 7 [3]", {3}, 7.0, [](const Tensor& c) { return full({3}, 7.0, DType::I64, c.device()); });
  full_case("bool true [2,2]", {2, 2}, 1.0, [](const Tensor& c) { return full({2, 2}, 1.0, DType::Bool, c.device()); });

  arange_case("0..10 step 1", 0, 10, 1);
  arange_case("one argument: arange(7)", 0, 7, 1, /*one_arg=*/true);
  arange_case("fractional step, end excluded", 0.5, 2.0, 0.25);
  arange_case("negative step", 2.5, -3, -0.7);
  arange_case("empty (start == end)", 3, 3, 1);
  register_forward_case({"arange", "i64 with step 3", carrier,
                         [](const TensorList& in) { return TensorList{mm::arange(-4, 9, 3, DType::I64, in[0].device())}; },
                         [](const std::vector<HostTensor>&) { return std::vector<Ref>{{{5}, {-4, -1, 2, 5, 8}}}; }});

  eye_case(4, -1);
  eye_case(3, 5);
  eye_case(5, 2);
  eye_case(3, 3, /*as_bool=*/true);
  eye_case(0, 3);

  for (bool upper : {false, true}) {
    mask_case(upper, 4, 4, 0);
    mask_case(upper, 4, 6, 1);
    mask_case(upper, 5, 3, -2);
    mask_case(upper, 3, 5, 7);  // beyond the matrix: all kept (tril) / none (triu)
  }

  // rand: f32 lanes of the uint32 stream, f64 pairs of lanes (philox.h's stream convention).
  auto rand_draw = [](const Shape& s, const Tensor& c) { return mm::rand(s, c.dtype(), c.device()); };
  random_case("rand", "[5,7]", DType::F32, {5, 7}, 0, 0, rand_draw,
              [](int64_t i, uint64_t off) { return double(philox_uniform(kSeed, off, i)); });
  random_case("rand", "[5,7]", DType::F64, {5, 7}, 0, 0, rand_draw,
              [](int64_t i, uint64_t off) { return philox_uniform_double(kSeed, off, i); });
  // A second call continues after the first one's blocks: 6 f32 uniforms used ceil(6/4) = 2 blocks.
  random_case("rand", "second call after 6 draws", DType::F32, {3, 3}, 6, philox_blocks_uniform(6), rand_draw,
              [](int64_t i, uint64_t off) { return double(philox_uniform(kSeed, off, i)); });
  random_case("rand", "second call after 3 draws", DType::F64, {2, 3}, 3, philox_blocks_uniform_double(3), rand_draw,
              [](int64_t i, uint64_t off) { return philox_uniform_double(kSeed, off, i); });

  auto randn_draw = [](const Shape& s, const Tensor& c) { return mm::randn(s, c.dtype(), c.device()); };
  random_case("randn", "[3,5] (odd count: half a block)", DType::F32, {3, 5}, 0, 0, randn_draw,
              [](int64_t i, uint64_t off) { return double(philox_normal(kSeed, off, i)); });
  random_case("randn", "[3,5] (odd count: half a block)", DType::F64, {3, 5}, 0, 0, randn_draw,
              [](int64_t i, uint64_t off) { return philox_normal_double(kSeed, off, i); });
  random_case("randn", "second call after 5 draws", DType::F32, {4}, 5, philox_blocks_normal(5), randn_draw,
              [](int64_t i, uint64_t off) { return double(philox_normal(kSeed, off, i)); });

  // randint: low + floor(u * (high - low)) with u the 53-bit uniform double of element i.
  auto randint_ref = [](int64_t low, int64_t high) {
    return [=](int64_t i, uint64_t off) {
      return double(low + static_cast<int64_t>(std::floor(philox_uniform_double(kSeed, off, i) * double(high - low))));
    };
  };
  // (The carrier's dtype is irrelevant here: results are i64, compared exactly.)
  random_case("randint", "[-5, 17) [4,6]", DType::F32, {4, 6}, 0, 0,
              [](const Shape& s, const Tensor& c) { return mm::randint(-5, 17, s, c.device()); }, randint_ref(-5, 17));
  random_case("randint", "[0, 2) after 5 draws", DType::F32, {9}, 5, philox_blocks_uniform_double(5),
              [](const Shape& s, const Tensor& c) { return mm::randint(0, 2, s, c.device()); }, randint_ref(0, 2));
  random_case("randint", "huge range [-2^52, 2^52)", DType::F32, {7}, 0, 0,
              [](const Shape& s, const Tensor& c) { return mm::randint(-(int64_t{1} << 52), int64_t{1} << 52, s, c.device()); },
              randint_ref(-(int64_t{1} << 52), int64_t{1} << 52));

  // bernoulli(p): u_i < p_i, with u from the uniform stream of p's dtype (p rounded to that dtype).
  for (DType dt : {DType::F32, DType::F64}) {
    ForwardCase c{"bernoulli", std::string("tensor p [4,6] ") + dtype_name(dt),
                  [] { return TensorList{uniform({4, 6}, 501, 0.0, 1.0)}; },
                  [](const TensorList& in) {
                    manual_seed(kSeed);
                    return TensorList{mm::bernoulli(in[0])};
                  },
                  [dt](const std::vector<HostTensor>& h) {
                    Ref r{h[0].shape, {}};
                    for (int64_t i = 0; i < h[0].numel(); ++i) {
                      bool hit = dt == DType::F64 ? philox_uniform_double(kSeed, 0, i) < h[0].v[i]
                                                  : philox_uniform(kSeed, 0, i) < static_cast<float>(h[0].v[i]);
                      r.values.push_back(hit ? 1.0 : 0.0);
                    }
                    return std::vector<Ref>{r};
                  }};
    c.dtypes = {dt};
    register_forward_case(std::move(c));
  }
  random_case("bernoulli", "scalar p=0.3 [5,5]", DType::F32, {5, 5}, 0, 0,
              [](const Shape& s, const Tensor& c) { return mm::bernoulli(s, 0.3, c.dtype(), c.device()); },
              [](int64_t i, uint64_t off) { return philox_uniform(kSeed, off, i) < 0.3f ? 1.0 : 0.0; });
  random_case("bernoulli", "scalar p=0.7 [3,3]", DType::F64, {3, 3}, 0, 0,
              [](const Shape& s, const Tensor& c) { return mm::bernoulli(s, 0.7, c.dtype(), c.device()); },
              [](int64_t i, uint64_t off) { return philox_uniform_double(kSeed, off, i) < 0.7 ? 1.0 : 0.0; });
  return true;
}();

}  // namespace
}  // namespace mm::testing
