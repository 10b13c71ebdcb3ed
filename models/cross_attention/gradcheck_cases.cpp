// Gradient checks of the cross-attention ladder: for every rung ("ladder.v0" … "ladder.v11") one
// pair-fused case and one token-mode case with a text padding mask, through the CrossAttentionHead
// (so the pooling, the cosine logits and the temperature are checked too). The checked inputs are the
// image and text tensors and every parameter of the head; the outputs are the logits and the rung's
// outputs before pooling. Sizes are tiny (d = 4, 2 heads, ff_dim 8, batch 2) so the 34 cases take a
// few seconds; the module is in f64 and eval mode (dropout off: finite differences need a
// deterministic function).
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"
#include "models/cross_attention/head.h"
#include "runtime/philox.h"

namespace mm::models {
namespace {

constexpr int64_t kDim = 4, kHeads = 2, kFF = 8, kBatch = 2;

std::shared_ptr<CrossAttentionHead> make_head(const std::string& rung, uint64_t seed) {
  manual_seed(seed);
  auto head = std::make_shared<CrossAttentionHead>(make_rung(rung, kDim, kHeads, 0.1, kFF));
  head->to(DType::F64);
  head->eval();
  return head;
}

// The inputs, then the head's parameters (the checker perturbs them in place; the module reads them
// through the same storage).
TensorList with_parameters(TensorList in, const nn::Module& m) {
  for (const Tensor& p : m.parameters()) in.push_back(p);
  return in;
}

// Token lengths each rung accepts: v7 needs N_i = N_t, v10_6 needs N_i, N_t ∈ {1, d}.
std::pair<int64_t, int64_t> token_lengths(const std::string& rung) {
  if (rung == "v7") return {3, 3};
  if (rung == "v10_6") return {kDim, kDim};
  return {3, 2};
}

const bool registered = [] {
  uint64_t seed = 7100;
  for (const std::string& rung : rung_names()) {
    const std::string module = "ladder." + rung;
    const uint64_t s = seed;
    seed += 10;
    register_module_gradcheck_case(
        {module, "ladder", "pair-fused [B=2, d=4]: logits and rung outputs", [rung, s] {
           auto head = make_head(rung, s);
           TensorList in = with_parameters(
               {leaf(case_randn({kBatch, kDim}, s + 1)), leaf(case_randn({kBatch, kDim}, s + 2))}, *head);
           GradcheckFn fn = [head](const TensorList& x) {
             HeadOutput o = head->pair_fused(x[0], x[1]);
             return TensorList{o.logits, o.sequences.image, o.sequences.text};
           };
           return ModuleGradcheck{in, fn};
         }});
    const auto [n_i, n_t] = token_lengths(rung);
    register_module_gradcheck_case(
        {module, "ladder",
         "token [B=2, N_i=" + std::to_string(n_i) + ", N_t=" + std::to_string(n_t) +
             "], last text token of batch 1 padded",
         [rung, s, n_i = n_i, n_t = n_t] {
           auto head = make_head(rung, s);
           TensorList in = with_parameters({leaf(case_randn({kBatch, n_i, kDim}, s + 3)),
                                            leaf(case_randn({kBatch, n_t, kDim}, s + 4))},
                                           *head);
           std::vector<bool> real(static_cast<size_t>(kBatch * n_t), true);
           real.back() = false;
           Tensor text_mask = Tensor::from_vector<bool>(real, {kBatch, n_t});
           GradcheckFn fn = [head, text_mask](const TensorList& x) {
             HeadOutput o = head->token(x[0], x[1], text_mask);
             return TensorList{o.logits, o.sequences.image, o.sequences.text};
           };
           return ModuleGradcheck{in, fn};
         }});
  }
  return true;
}();

}  // namespace
}  // namespace mm::models
