// Triplet (hinge ranking) loss over a batch of matched image–text pairs (SPEC §5.2).
//
//   triplet: max(0, m − sim(a,p) + sim(a,n)) with cosine or Euclidean; negatives: all, hardest
//   (VSE++ max-violation) or semi-hard; both directions.
//
// Sources: seed 000 (TripletLoss, L = max(0, d(a,p) − d(a,n) + margin)); Faghri et al. 2018,
// "VSE++: Improving Visual-Semantic Embeddings with Hard Negatives" (all negatives = their sum of
// hinges, hardest = max violation, both directions summed); Schroff et al. 2015, "FaceNet" (semi-hard
// negatives), with the selection rule of TensorFlow Addons' triplet_semihard_loss.
//
// Row i of image and text is a positive pair; every other row of the other modality is a negative.
// Direction image→text: anchor a = Iᵢ, positive p = Tᵢ, negatives Tⱼ (j ≠ i); text→image swaps the
// roles. sim is cosine similarity (rows normalised here), or Euclidean with sim = −‖a − n‖₂ (so the
// hinge is max(0, m + d(a,p) − d(a,n)), seed 000's form). Per anchor i:
//   All:      Σⱼ≠ᵢ max(0, m − sim(a,p) + sim(a,nⱼ))
//   Hardest:  max(0, m − sim(a,p) + maxⱼ≠ᵢ sim(a,nⱼ))
//   SemiHard: the hinge with the most similar negative that is still less similar than the positive
//             (sim(a,n) < sim(a,p)); when there is none, with the least similar negative (TF Addons'
//             fallback). The choice is made on the values (no gradient through it).
// Reduction over anchors: Mean (÷ B, default) or Sum (VSE++); both directions are added. A batch of
// one has no negatives: the loss is 0 (with zero gradients).
#pragma once

#include "runtime/tensor.h"

namespace mm::nn {

enum class TripletSimilarity { Cosine, Euclidean };
enum class TripletNegatives { All, Hardest, SemiHard };
enum class LossDirections { Both, ImageToText, TextToImage };

struct TripletLossOptions {
  double margin = 0.2;  // VSE++'s default
  TripletSimilarity similarity = TripletSimilarity::Cosine;
  TripletNegatives negatives = TripletNegatives::Hardest;
  LossDirections directions = LossDirections::Both;
  bool sum_over_anchors = false;  // false: mean over the B anchors; true: sum (VSE++)
};

// image, text [B, D] → 0-d loss.
Tensor triplet_loss(const Tensor& image, const Tensor& text, const TripletLossOptions& options = {});

}  // namespace mm::nn
