// The contrastive-loss family of SPEC §5.2, one header for users. Each loss is a plain function over
// Tensors composed from the differentiable ops of autograd/functions.h, so its gradient comes from
// those ops' backward formulas and it runs on every device they run on (CPU and CUDA). The formula
// and the source of each are in its own header. Gradient checks: nn/losses/gradcheck_cases.cpp
// (`mmalign gradcheck --module loss.clip`, ...).
#pragma once

#include "nn/losses/clip.h"         // clip_logits, clip_loss (InfoNCE)
#include "nn/losses/cmpm.h"         // cmpm_loss, cmpc_loss, CMPCLoss
#include "nn/losses/distill.h"      // distillation_loss
#include "nn/losses/intra_class.h"  // intra_class_loss
#include "nn/losses/ntxent.h"       // ntxent_loss (SimCLR)
#include "nn/losses/pair.h"         // contrastive_pair_loss (Hadsell), margin_ranking_loss
#include "nn/losses/siglip.h"       // siglip_loss
#include "nn/losses/triplet.h"      // triplet_loss
