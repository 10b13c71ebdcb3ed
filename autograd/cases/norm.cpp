// Gradient-check cases of layer_norm and batch_norm w.r.t. input, weight and bias: one or several
// normalised dims, with and without the affine parameters, strided input; batch_norm in training
// mode (statistics depend on x) and eval mode (running statistics are constants).
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

void layer_norm_case(const std::string& name, Shape x, Shape ns, bool affine, uint64_t seed, bool transposed = false) {
  register_gradcheck_case({"layer_norm", name,
                           [=] {
                             TensorList in{leaf(case_randn(x, seed))};
                             if (affine) {
                               in.push_back(leaf(case_uniform(ns, seed + 1, 0.5, 1.5)));
                               in.push_back(leaf(case_randn(ns, seed + 2)));
                             }
                             return in;
                           },
                           [=](const TensorList& in) {
                             Tensor xin = transposed ? transpose(in[0], 0, 1) : in[0];
                             return TensorList{affine ? layer_norm(xin, ns, in[1], in[2]) : layer_norm(xin, ns)};
                           }});
}

// batch_norm with running statistics made fresh inside the function (they are buffers, not inputs;
// in training mode each call updates them, which does not change the output).
void batch_norm_case(const std::string& name, Shape x, bool affine, bool training, bool running, uint64_t seed) {
  const int64_t C = x[1];
  register_gradcheck_case({"batch_norm", name,
                           [=] {
                             TensorList in{leaf(case_randn(x, seed))};
                             if (affine) {
                               in.push_back(leaf(case_uniform({C}, seed + 1, 0.5, 1.5)));
                               in.push_back(leaf(case_randn({C}, seed + 2)));
                             }
                             return in;
                           },
                           [=](const TensorList& in) {
                             Tensor rm, rv;
                             if (running) {
                               rm = case_randn({C}, seed + 3, 0.3);
                               rv = case_uniform({C}, seed + 4, 0.5, 2.0);
                             }
                             Tensor w = affine ? in[1] : Tensor(), b = affine ? in[2] : Tensor();
                             return TensorList{batch_norm(in[0], rm, rv, w, b, training, 0.1, 1e-5)};
                           }});
}

const bool registered = [] {
  layer_norm_case("[3,5] over [5], weight and bias", {3, 5}, {5}, true, 801);
  layer_norm_case("[2,3,4] over [3,4], weight and bias", {2, 3, 4}, {3, 4}, true, 811);
  layer_norm_case("[4,6] over [6], no weight or bias", {4, 6}, {6}, false, 821);
  layer_norm_case("strided (transposed) input", {5, 3}, {5}, true, 831, true);
  // Large enough for the CPU backward's SIMD lanes (D = 40), its row blocks (> 256 rows per chunk)
  // and several chunks of parameter-gradient partials; checked in fast mode (random directions).
  layer_norm_case("[900,40]: SIMD lanes, row blocks, chunked partials", {900, 40}, {40}, true, 841);

  batch_norm_case("training [4,3], affine, running stats", {4, 3}, true, true, true, 845);
  batch_norm_case("training [2,3,2,2] 4-D, affine", {2, 3, 2, 2}, true, true, false, 851);
  batch_norm_case("training [3,2,4], no affine", {3, 2, 4}, false, true, true, 861);
  batch_norm_case("eval [2,3,4] (running stats are constants), affine", {2, 3, 4}, true, false, true, 871);
  batch_norm_case("eval [3,2], no affine", {3, 2}, false, false, true, 881);
  register_gradcheck_case({"batch_norm", "training, strided (transposed) input [3,4] viewed as [4,3]",
                           [] {
                             return TensorList{leaf(case_randn({3, 4}, 891)), leaf(case_uniform({3}, 892, 0.5, 1.5)),
                                               leaf(case_randn({3}, 893))};
                           },
                           [](const TensorList& in) {
                             return TensorList{batch_norm(transpose(in[0], 0, 1), Tensor(), Tensor(), in[1], in[2], true)};
                           }});
  return true;
}();

}  // namespace
}  // namespace mm
