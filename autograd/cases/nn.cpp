// Gradient-check cases of dropout, scaled_dot_product_attention and lstm. Random masks are drawn after
// manual_seed inside the checked function, so every finite-difference evaluation sees the same mask.
#include "autograd/functions.h"
#include "autograd/grad/nn.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

Tensor bools(const std::vector<bool>& v, const Shape& s) {
  Tensor t = Tensor::empty(s, DType::Bool, kCPU);
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}

void add(const std::string& op, const std::string& name, std::function<TensorList()> inputs, GradcheckFn fn) {
  register_gradcheck_case({op, name, std::move(inputs), std::move(fn)});
}

TensorList qkv(uint64_t seed, int64_t L, int64_t S) {
  return {leaf(case_randn({2, L, 3}, seed)), leaf(case_randn({2, S, 3}, seed + 1)), leaf(case_randn({2, S, 2}, seed + 2))};
}

const bool registered = [] {
  add("dropout", "p = 0.4, seeded mask", [] { return TensorList{leaf(case_randn({4, 5}, 701))}; },
      [](const TensorList& in) {
        manual_seed(3);
        return TensorList{dropout(in[0], 0.4, true)};
      });

  add("scaled_dot_product_attention", "no mask", [] { return qkv(711, 3, 4); },
      [](const TensorList& in) { return TensorList{scaled_dot_product_attention(in[0], in[1], in[2])}; });
  add("scaled_dot_product_attention", "bool mask [3,4] with a fully masked row",
      [] { return qkv(714, 3, 4); },
      [](const TensorList& in) {
        Tensor mask = bools({true, false, true, true, false, false, false, false, true, true, false, true}, {3, 4});
        return TensorList{scaled_dot_product_attention(in[0], in[1], in[2], mask)};
      });
  add("scaled_dot_product_attention", "causal, scale 0.5", [] { return qkv(717, 4, 4); },
      [](const TensorList& in) {
        return TensorList{scaled_dot_product_attention(in[0], in[1], in[2], {}, 0.0, true, 0.5)};
      });
  add("scaled_dot_product_attention", "float additive mask (gradient to the mask too)",
      [] {
        TensorList in = qkv(720, 3, 4);
        in.push_back(leaf(case_randn({3, 4}, 723)));
        return in;
      },
      [](const TensorList& in) { return TensorList{scaled_dot_product_attention(in[0], in[1], in[2], in[3])}; });
  add("scaled_dot_product_attention", "causal + key padding bool mask [2,1,4], dropout 0.3 seeded",
      [] { return qkv(724, 4, 4); },
      [](const TensorList& in) {
        Tensor pad = bools({true, true, true, false, true, true, false, false}, {2, 1, 4});
        manual_seed(5);
        return TensorList{scaled_dot_product_attention(in[0], in[1], in[2], pad, 0.3, true)};
      });

  // LSTM w.r.t. x, h0, c0 and all four weights; T=3, B=3, I=2, H=2.
  auto lstm_inputs = [] {
    return TensorList{leaf(case_randn({3, 3, 2}, 731)),      leaf(case_randn({3, 2}, 732, 0.5)),
                      leaf(case_randn({3, 2}, 733, 0.5)),    leaf(case_randn({8, 2}, 734, 0.5)),
                      leaf(case_randn({8, 2}, 735, 0.5)),    leaf(case_randn({8}, 736, 0.3)),
                      leaf(case_randn({8}, 737, 0.3))};
  };
  for (bool reverse : {false, true}) {
    add("lstm", std::string("all inputs, lengths {3,1,2}") + (reverse ? ", reverse" : ""), lstm_inputs,
        [reverse](const TensorList& in) {
          Tensor len = Tensor::from_vector<int64_t>({3, 1, 2}, {3});
          auto [out, h, c] = lstm(in[0], in[1], in[2], in[3], in[4], in[5], in[6], len, reverse);
          return TensorList{out, h, c};
        });
  }
  add("lstm", "no lengths, strided (transposed) w_hh",
      [] {
        return TensorList{leaf(case_randn({3, 2, 2}, 741)), leaf(case_randn({2, 2}, 742, 0.5)),
                          leaf(case_randn({2, 2}, 743, 0.5)), leaf(case_randn({8, 2}, 744, 0.5)),
                          leaf(case_randn({2, 8}, 745, 0.5))};
      },
      [](const TensorList& in) {
        auto [out, h, c] = lstm(in[0], in[1], in[2], in[3], transpose(in[4], 0, 1));
        return TensorList{out, h, c};
      });
  return true;
}();

}  // namespace
}  // namespace mm
