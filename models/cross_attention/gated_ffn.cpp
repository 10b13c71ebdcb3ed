#include "models/cross_attention/gated_ffn.h"

#include "autograd/functions.h"

namespace mm::models::ladder {

std::shared_ptr<nn::Sequential> ffn_branch(int64_t dim, int64_t ff_dim, double p) {
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Linear>(dim, ff_dim), nn::GELU(), std::make_shared<nn::Dropout>(p)});
}

Tensor GatedFFN::operator()(const Tensor& a, nn::Dropout& drop) const {
  Tensor x = (*ff_norm)(a);
  return add(drop((*ff_out)(mul((*ff_gate)(x), (*ff_value)(x)))), a);
}

}  // namespace mm::models::ladder
