// A dual-encoder model together with everything that turns raw inputs into its inputs: the resolved
// config, the caption tokenizer and the evaluation image transform. The trainer holds one; `mmalign
// eval/embed/zeroshot/search --checkpoint DIR` load one from a checkpoint directory, which carries
// the config and the tokenizer's files next to the weights (train/checkpoint.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/image/image.h"
#include "data/image/pipeline.h"
#include "data/tokenizers/tokenizer.h"
#include "models/dual_encoder.h"
#include "runtime/dist/communicator.h"
#include "train/config.h"
#include "train/eval/retrieval.h"
#include "train/image_text_data.h"

namespace mm::train {

struct AlignmentModel {
  config::Config config;  // resolved: absolute data paths, the text tower's vocab_size filled in
  std::unique_ptr<data::Tokenizer> tokenizer;
  int64_t max_length = 32;
  std::shared_ptr<models::DualEncoder> model;
  std::unique_ptr<data::TransformPipeline> eval_transform;
  Device device = kCPU;  // where the model's parameters live; inputs go there, embeddings come back to the CPU
  DType dtype = DType::F32;  // the parameters' (train.dtype); images are cast to it, embeddings come back as f32

  // L2-normalised embeddings [n, d] of images 0..n-1 (evaluation transform, no gradient, eval mode
  // for the duration, chunks of `chunk` images).
  Tensor embed_images(int64_t n, const std::function<data::Image(int64_t)>& image, int64_t chunk = 128);
  // L2-normalised embeddings [n, d] of captions.
  Tensor embed_texts(const std::vector<std::string>& captions, int64_t chunk = 256);
};

// A split's embeddings for retrieval evaluation: every image once, every caption, and the image each
// caption describes.
struct SplitEmbeddings {
  Tensor images, texts, text_to_image;  // [Ni, d], [Nt, d], [Nt] i64
};
// Scores [n_images, captions] of every image against every caption with the model's head: cosines
// of the embeddings, a pair-fused ladder's pair_scores, or a token-mode ladder's token_pair_scores
// (every pair's token sequences through the rung). No gradient; eval mode for the duration.
Tensor score_pairs(AlignmentModel& m, int64_t n_images, const std::function<data::Image(int64_t)>& image,
                   const std::vector<std::string>& captions);
// With a communicator of several ranks (CPU tensors), each rank embeds its contiguous share of the
// images and of the captions and the shares are gathered: every rank returns the whole split.
SplitEmbeddings embed_split(AlignmentModel& m, const ImageTextData& data, dist::Communicator* comm = nullptr);
// Retrieval metrics of the model on a split: from the embeddings, or with a ladder head from the
// score of every (image, caption) pair through the rung (DualEncoder::pair_scores). Sharded as
// embed_split with a communicator (every rank computes the same metrics).
RetrievalMetrics evaluate_split(AlignmentModel& m, const ImageTextData& data, dist::Communicator* comm = nullptr);

// The dual encoder a config describes (towers, head, a logit bias when a SigLIP loss is used, and the
// CMPC classifier "cmpc.W" [embedding size, loss.num_classes] when a cmpc loss is used),
// freshly initialised from the current global seed. The text tower's vocab_size must be set.
std::shared_ptr<models::DualEncoder> build_dual_encoder(const config::Config& cfg);

// The evaluation transform for the config's image size (resize + centre crop + normalisation).
std::unique_ptr<data::TransformPipeline> make_eval_transform(const config::Config& cfg);

// train.dtype: F32 (default) or F64; anything else is a config error naming the value.
DType config_dtype(const config::Config& cfg);

// The tokenizer a config names, its vocab/merges paths resolved against `base_dir`.
std::unique_ptr<data::Tokenizer> load_config_tokenizer(const config::Config& cfg, const std::string& base_dir);

// A checkpoint directory: verified (checksums), config from its state.pb, tokenizer from its files,
// weights loaded strictly; the model is in eval mode.
AlignmentModel load_alignment_model(const std::string& checkpoint_dir);

// Stacks [3, S, S] images into one [B, 3, S, S] tensor with plain copies (safe on loader threads,
// which must not enter the op library's thread pool).
Tensor stack_images(const std::vector<Tensor>& images);

}  // namespace mm::train
