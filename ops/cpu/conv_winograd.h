// Winograd F(2×2, 3×3) for f32 3×3 stride-1 convolutions on the CPU (ops/cpu/conv.cpp dispatches
// here when winograd_applicable). Forward, grad_input and grad_weight; see conv_winograd.cpp.
#pragma once

#include "ops/conv.h"

namespace mm::cpu {

// 3×3 kernel, stride 1, dilation 1, no groups, padding ≤ 2 each way, at least one sample and enough
// channels (≥ 16 in and out) for the transforms to pay off.
bool winograd_applicable(const Conv2dGeometry& g);

// Y [N,O,OH,OW] = conv(X [N,C,H,W], W [O,C,3,3]) + B (B may be null).
void winograd_forward(const float* X, const float* W, const float* B, const Conv2dGeometry& g, float* Y);

// GX [N,C,H,W] and GW [O,C,3,3] (either may be null) from G = grad_out [N,O,OH,OW]; both are
// overwritten. GW is summed over the batch in a fixed order (bitwise reproducible for a given thread
// count).
void winograd_backward(const float* G, const float* X, const float* W, const Conv2dGeometry& g, float* GX,
                       float* GW);

}  // namespace mm::cpu
