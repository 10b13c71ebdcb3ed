// Creation ops in the user-facing namespace: mm::arange, mm::eye, mm::rand, mm::randn, mm::randint,
// mm::bernoulli, mm::tril_mask, mm::triu_mask (mm::full/zeros/ones come with autograd/grad/elementwise.h,
// mm::manual_seed and mm::default_generator with runtime/philox.h).
//
// None of them is differentiable (random draws, integer and bool results, constants), so there is
// nothing to record: the raw ops of ops/creation.h are the API, re-exported here. Their results are
// leaves that do not require a gradient; call set_requires_grad() to make a parameter of one.
#pragma once

#include "ops/creation.h"
#include "runtime/philox.h"

namespace mm {

using ops::arange;
using ops::bernoulli;
using ops::eye;
using ops::rand;
using ops::randint;
using ops::randn;
using ops::tril_mask;
using ops::triu_mask;

}  // namespace mm
