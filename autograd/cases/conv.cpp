// Gradient-check cases of conv2d: w.r.t. input, weight and bias, across stride, padding, dilation,
// groups, depthwise, 1x1, unbatched and strided inputs, and a feature map large enough that the CPU
// kernel unfolds one sample per GEMM (smaller ones are batched into blocks of samples).
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

struct ConvCase {
  std::string name;
  Shape x, w;
  bool bias;
  std::array<int64_t, 2> stride, padding, dilation;
  int64_t groups;
};

void conv_case(const ConvCase& k, uint64_t seed) {
  register_gradcheck_case({"conv2d", k.name,
                           [k, seed] {
                             TensorList in{leaf(case_randn(k.x, seed)), leaf(case_randn(k.w, seed + 1, 0.5))};
                             if (k.bias) in.push_back(leaf(case_randn({k.w[0]}, seed + 2)));
                             return in;
                           },
                           [k](const TensorList& in) {
                             Tensor b = k.bias ? in[2] : Tensor();
                             return TensorList{conv2d(in[0], in[1], b, k.stride, k.padding, k.dilation, k.groups)};
                           }});
}

const bool registered = [] {
  conv_case({"3x3 padding 1, bias", {2, 3, 5, 6}, {4, 3, 3, 3}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 501);
  conv_case({"stride 2, padding (1,2), dilation (2,1)", {2, 2, 7, 8}, {3, 2, 3, 2}, true, {2, 2}, {1, 2}, {2, 1}, 1}, 511);
  conv_case({"groups=2, stride (2,1)", {2, 4, 5, 5}, {6, 2, 3, 3}, true, {2, 1}, {1, 1}, {1, 1}, 2}, 521);
  conv_case({"depthwise (groups=C, 2 outputs per channel), stride 2", {2, 3, 6, 7}, {6, 1, 3, 3}, true, {2, 2}, {1, 1},
             {1, 1}, 3},
            531);
  conv_case({"depthwise 5x5, dilation 2, no bias", {1, 4, 9, 8}, {4, 1, 5, 5}, false, {1, 1}, {3, 2}, {2, 2}, 4}, 541);
  conv_case({"1x1 stride 1 (no im2col)", {3, 4, 3, 4}, {5, 4, 1, 1}, true, {1, 1}, {0, 0}, {1, 1}, 1}, 551);
  conv_case({"1x1 stride 2, groups 2", {2, 4, 5, 5}, {4, 2, 1, 1}, false, {2, 2}, {0, 0}, {1, 1}, 2}, 561);
  conv_case({"unbatched [C,H,W]", {3, 6, 5}, {2, 3, 2, 3}, true, {1, 2}, {0, 1}, {1, 1}, 1}, 571);
  conv_case({"same size: 3x5 kernel, dilation (1,2), padding (1,4), groups 2", {2, 4, 5, 6}, {2, 2, 3, 5}, true, {1, 1},
             {1, 4}, {1, 2}, 2},
            589);
  conv_case({"23x23 map (one sample per GEMM)", {1, 1, 23, 23}, {2, 1, 3, 3}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 581);
  conv_case({"batch 5 (samples batched into one GEMM)", {5, 2, 4, 4}, {3, 2, 3, 3}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 585);
  conv_case({"same size 3x3 on a 1x1 map (the kernel's shift exceeds the plane)", {2, 3, 1, 1}, {2, 3, 3, 3}, true,
             {1, 1}, {1, 1}, {1, 1}, 1},
            591);
  register_gradcheck_case({"conv2d", "strided (transposed) input",
                           [] {
                             return TensorList{leaf(case_randn({2, 3, 6, 5}, 591)), leaf(case_randn({4, 3, 2, 2}, 592, 0.5)),
                                               leaf(case_randn({4}, 593))};
                           },
                           [](const TensorList& in) {
                             return TensorList{conv2d(transpose(in[0], 2, 3), in[1], in[2], {1, 1}, {1, 0})};
                           }});
  return true;
}();

}  // namespace
}  // namespace mm
