// Checkpoints (SPEC §7): a directory RUN/step-NNNNNNN/ holding
//   model.safetensors      the model's state_dict (any safetensors reader loads it)
//   optimizer.safetensors  optimizer state (and EMA weights), named by parameter
//   state.pb               train/checkpoint.proto: step, loader position, RNG, resolved config,
//                          metrics, best-so-far, and the size and CRC-32C of every other file
//   config.pbtxt, vocab... small text files a later `mmalign eval --checkpoint` needs
//
// Crash safety: everything is written into RUN/.step-NNNNNNN.tmp, each file fsynced, the directory
// fsynced, then renamed to step-NNNNNNN (rename is atomic) and RUN fsynced; `latest` is a symlink
// replaced by rename. A process killed at any moment leaves either the old set of checkpoints or the
// old set plus the complete new one, and `latest` always names a complete checkpoint.
//
// Damage (a truncated file, a flipped bit) is detected by verify_checkpoint: every file's size and
// CRC-32C are compared with state.pb, and state.pb carries a CRC of itself.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "train/checkpoint.pb.h"

namespace mm::train {

namespace ckpt = ::mmalign::checkpoint;  // the generated schema types

struct CheckpointData {
  nn::NamedTensors model;
  std::map<std::string, Tensor> optimizer;
  ckpt::State state;  // files and state_crc32c are filled in by save_checkpoint
  std::vector<std::pair<std::string, std::string>> text_files;  // name → contents
};

// "step-0000120".
std::string checkpoint_name(int64_t step);

// Writes RUN/step-NNNNNNN (replacing an older one of the same step) and points RUN/latest at it;
// returns the checkpoint's path.
std::string save_checkpoint(const std::string& run_dir, CheckpointData data);

// Deletes all but the newest `keep_last` checkpoints of RUN, never the one of `keep_step` (the best;
// 0: none) nor the one `latest` names. keep_last <= 0 keeps everything.
void prune_checkpoints(const std::string& run_dir, int64_t keep_last, int64_t keep_step);

// Checks a checkpoint directory and returns its state; throws an mm::Error naming the file and what
// is wrong (missing, wrong size, CRC mismatch, unparsable or self-inconsistent state.pb).
ckpt::State verify_checkpoint(const std::string& dir);

// The newest checkpoint of RUN that verifies, or "" when there is none. Each damaged checkpoint on
// the way is skipped with a message appended to `warnings`.
std::string latest_valid_checkpoint(const std::string& run_dir, std::vector<std::string>* warnings);

// The checkpoints of RUN (step-NNNNNNN directories, complete or not), oldest first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& run_dir);

}  // namespace mm::train
