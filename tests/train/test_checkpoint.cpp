// Checkpoint directories (train/checkpoint.h): a round trip, `latest`, keep-K, and detection of every
// kind of damage — a truncated file, a flipped bit in a tensor file, in state.pb, a missing file — with
// `latest_valid_checkpoint` falling back to the previous checkpoint. The SIGKILL-while-writing test is
// tests/cli/test_checkpoint_cli.sh (it kills a real training process).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/safetensors.h"
#include "tests/common/expect_error.h"
#include "train/checkpoint.h"

namespace mm::train {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("mmalign_ckpt_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  return d;
}

CheckpointData make_data(int64_t step) {
  CheckpointData d;
  d.model.emplace_back("w", Tensor::from_vector<float>({1.f, 2.f, 3.f, static_cast<float>(step)}, {2, 2}));
  d.model.emplace_back("b", Tensor::from_vector<float>({0.5f}, {1}));
  d.optimizer["w.exp_avg"] = Tensor::from_vector<float>({0.1f, 0.2f, 0.3f, 0.4f}, {2, 2});
  d.state.set_step(step);
  d.state.set_epoch(3);
  d.state.set_batch_in_epoch(7);
  d.state.mutable_rng()->set_seed(11);
  d.state.mutable_rng()->set_offset(12345);
  d.state.set_config("train { steps: 10 }\n");
  d.text_files.emplace_back("vocab.txt", "[PAD]\n[UNK]\nred\n");
  return d;
}

void flip_byte(const fs::path& p, std::streamoff at) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c = 0;
  f.get(c);
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x10));
}

TEST(Checkpoint, RoundTripAndLatest) {
  const fs::path run = fresh_dir("roundtrip");
  const std::string path = save_checkpoint(run.string(), make_data(20));
  EXPECT_EQ(fs::path(path).filename(), "step-0000020");
  EXPECT_EQ(fs::read_symlink(run / "latest"), "step-0000020");
  const ckpt::State st = verify_checkpoint(path);
  EXPECT_EQ(st.step(), 20);
  EXPECT_EQ(st.epoch(), 3u);
  EXPECT_EQ(st.batch_in_epoch(), 7);
  EXPECT_EQ(st.rng().offset(), 12345u);
  EXPECT_EQ(st.config(), "train { steps: 10 }\n");
  EXPECT_EQ(st.files_size(), 3);  // model, optimizer, vocab.txt
  auto model = safetensors::load_all(path + "/model.safetensors");
  EXPECT_EQ(model.at("w").to_double_vector(), (std::vector<double>{1, 2, 3, 20}));
  EXPECT_EQ(safetensors::load_all(path + "/optimizer.safetensors").count("w.exp_avg"), 1u);
  save_checkpoint(run.string(), make_data(40));
  EXPECT_EQ(fs::read_symlink(run / "latest"), "step-0000040");
  std::vector<std::string> warnings;
  EXPECT_EQ(fs::path(latest_valid_checkpoint(run.string(), &warnings)).filename(), "step-0000040");
  EXPECT_TRUE(warnings.empty());
  // Saving the same step again replaces the directory and leaves nothing temporary behind.
  save_checkpoint(run.string(), make_data(40));
  for (const auto& e : fs::directory_iterator(run)) EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
  fs::remove_all(run);
}

TEST(Checkpoint, DamageIsDetectedAndSkipped) {
  const fs::path run = fresh_dir("damage");
  save_checkpoint(run.string(), make_data(1));
  const fs::path newest = save_checkpoint(run.string(), make_data(2));

  // A flipped bit inside a tensor file.
  flip_byte(newest / "model.safetensors", static_cast<std::streamoff>(fs::file_size(newest / "model.safetensors") - 3));
  EXPECT_ERROR_CONTAINS(verify_checkpoint(newest.string()), ErrorKind::Runtime, "CRC-32C");
  std::vector<std::string> warnings;
  EXPECT_EQ(fs::path(latest_valid_checkpoint(run.string(), &warnings)).filename(), "step-0000001");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("step-0000002"), std::string::npos) << warnings[0];

  // A truncated file.
  const fs::path c3 = save_checkpoint(run.string(), make_data(3));
  fs::resize_file(c3 / "optimizer.safetensors", fs::file_size(c3 / "optimizer.safetensors") - 1);
  EXPECT_ERROR_CONTAINS(verify_checkpoint(c3.string()), ErrorKind::Runtime, "truncated");

  // A flipped bit in state.pb's config text: it still parses, its own CRC catches it.
  const fs::path c4 = save_checkpoint(run.string(), make_data(4));
  const std::string pb = (c4 / "state.pb").string();
  std::ifstream in(pb, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = bytes.find("steps");
  ASSERT_NE(at, std::string::npos);
  flip_byte(pb, static_cast<std::streamoff>(at));
  EXPECT_ERROR_CONTAINS(verify_checkpoint(c4.string()), ErrorKind::Runtime, "state.pb");

  // A missing file, and a directory without state.pb (a half-copied checkpoint).
  const fs::path c5 = save_checkpoint(run.string(), make_data(5));
  fs::remove(c5 / "vocab.txt");
  EXPECT_ERROR_CONTAINS(verify_checkpoint(c5.string()), ErrorKind::Runtime, "vocab.txt is missing");
  fs::create_directories(run / "step-0000006");
  EXPECT_ERROR_CONTAINS(verify_checkpoint((run / "step-0000006").string()), ErrorKind::Runtime, "state.pb is missing");

  warnings.clear();
  EXPECT_EQ(fs::path(latest_valid_checkpoint(run.string(), &warnings)).filename(), "step-0000001");
  EXPECT_EQ(warnings.size(), 5u);
  fs::remove_all(run);
  EXPECT_EQ(latest_valid_checkpoint(run.string(), nullptr), "");
}

TEST(Checkpoint, PruneKeepsTheLastKAndTheBest) {
  const fs::path run = fresh_dir("prune");
  for (int64_t s : {10, 20, 30, 40, 50}) save_checkpoint(run.string(), make_data(s));
  prune_checkpoints(run.string(), 2, 20);
  std::vector<int64_t> left;
  for (const auto& [step, path] : list_checkpoints(run.string())) left.push_back(step);
  EXPECT_EQ(left, (std::vector<int64_t>{20, 40, 50}));
  prune_checkpoints(run.string(), 0, 0);  // keep everything
  EXPECT_EQ(list_checkpoints(run.string()).size(), 3u);
  fs::remove_all(run);
}

TEST(Checkpoint, LeftoversOfAKilledWriterAreIgnoredAndCleaned) {
  const fs::path run = fresh_dir("leftover");
  save_checkpoint(run.string(), make_data(1));
  fs::create_directories(run / ".step-0000002.tmp");  // what a writer killed mid-way leaves
  std::ofstream(run / ".step-0000002.tmp" / "model.safetensors") << "partial";
  EXPECT_EQ(list_checkpoints(run.string()).size(), 1u);
  save_checkpoint(run.string(), make_data(3));
  EXPECT_FALSE(fs::exists(run / ".step-0000002.tmp"));
  fs::remove_all(run);
}

}  // namespace
}  // namespace mm::train
