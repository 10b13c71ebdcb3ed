#include "nn/losses/ntxent.h"

#include <limits>

#include "autograd/functions.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

Tensor ntxent_loss(const Tensor& z1, const Tensor& z2, double temperature) {
  const char* op = "ntxent_loss";
  check_paired_embeddings(op, z1, z2, "z1", "z2");
  MM_CHECK(temperature > 0, Value, op, "temperature must be positive, got ", temperature);
  const int64_t b = z1.size(0);
  Tensor z = normalize(cat({z1, z2}, 0), 2.0, 1);  // [2B, D]
  Tensor sim = div(matmul(z, transpose(z, 0, 1)), temperature);
  sim = masked_fill(sim, eye_mask(2 * b, sim), -std::numeric_limits<double>::infinity());
  // Row k's positive is row k + B (mod 2B).
  Tensor target = cat({arange(static_cast<double>(b), static_cast<double>(2 * b), 1, DType::I64, z1.device()),
                       arange(0, static_cast<double>(b), 1, DType::I64, z1.device())});
  return cross_entropy(sim, target);
}

}  // namespace mm::nn
