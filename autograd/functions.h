// The differentiable op API, one header for users: every op of the table in ops/op_table.h as a
// function in namespace mm that records its backward when an input requires a gradient.
#pragma once

#include "autograd/engine.h"
#include "autograd/grad/conv.h"
#include "autograd/grad/elementwise.h"
#include "autograd/grad/reduce.h"
#include "autograd/grad/shape.h"
#include "autograd/grad_mode.h"
#include "autograd/grad/creation.h"
#include "autograd/grad/shape_copy.h"
#include "autograd/grad/index.h"
#include "autograd/grad/linalg.h"
#include "autograd/grad/softmax.h"
#include "autograd/grad/loss.h"
#include "autograd/grad/nn.h"
#include "autograd/grad/pool.h"
#include "autograd/grad/norm.h"
