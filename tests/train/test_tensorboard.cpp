// TensorBoard event files (train/tensorboard.h): written records read back equal, the byte layout of
// the first record, every single-byte corruption and every truncation inside a record detected.
// tools/check_tensorboard.py checks the same files with TensorBoard's own reader (not run by CI).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "runtime/crc32c.h"
#include "tests/common/expect_error.h"
#include "tests/train/obs_temp_dir.h"
#include "train/tensorboard.h"

namespace mm {
namespace {

namespace fs = std::filesystem;
using testing::ObsTempDir;
using testing::read_file;
using train::EventWriter;
using train::read_scalars;

// A small file: the version record and three scalars.
std::string write_sample(const ObsTempDir& dir) {
  EventWriter w(dir.str());
  w.add_scalar("train/loss", 2.5, 10, 1000.25);
  w.add_scalar("train/lr", 1.2e-3, 10, 1000.25);
  w.add_scalar("val/i2t_r1", 0.4, -3, 1001.5);  // a negative step is encoded as a 10-byte varint
  return w.path();
}

TEST(TensorBoard, WriteReadBack) {
  ObsTempDir dir;
  const std::string path = write_sample(dir);
  const auto s = read_scalars(path);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].tag, "train/loss");
  EXPECT_EQ(s[0].step, 10);
  EXPECT_EQ(s[0].value, 2.5f);
  EXPECT_EQ(s[0].wall_time, 1000.25);
  EXPECT_EQ(s[1].tag, "train/lr");
  EXPECT_EQ(s[1].value, static_cast<float>(1.2e-3));  // stored as float32, as TensorBoard does
  EXPECT_EQ(s[2].tag, "val/i2t_r1");
  EXPECT_EQ(s[2].step, -3);
  EXPECT_EQ(s[2].value, 0.4f);
  EXPECT_EQ(s[2].wall_time, 1001.5);
}

TEST(TensorBoard, FileNameAndFirstRecordLayout) {
  ObsTempDir dir;
  const std::string path = write_sample(dir);
  const std::string name = fs::path(path).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(train::find_event_files(dir.str()), std::vector<std::string>{path});

  // Record 0: length 24 = Event{wall_time (1 key byte + 8), file_version (1 key + 1 length + 13)}.
  const std::string b = read_file(path);
  ASSERT_GE(b.size(), 40u);
  uint64_t n;
  std::memcpy(&n, b.data(), 8);
  EXPECT_EQ(n, 24u);
  uint32_t len_crc;
  std::memcpy(&len_crc, b.data() + 8, 4);
  EXPECT_EQ(len_crc, masked_crc32c(b.data(), 8));
  EXPECT_EQ(static_cast<unsigned char>(b[12]), 0x09);  // field 1, wire type 1 (fixed64)
  EXPECT_EQ(static_cast<unsigned char>(b[21]), 0x1A);  // field 3, wire type 2 (bytes)
  EXPECT_EQ(static_cast<unsigned char>(b[22]), 13);
  EXPECT_EQ(b.substr(23, 13), "brain.Event:2");
  uint32_t data_crc;
  std::memcpy(&data_crc, b.data() + 36, 4);
  EXPECT_EQ(data_crc, masked_crc32c(b.data() + 12, 24));
}

TEST(TensorBoard, TwoWritersInOneSecondGetTwoFiles) {
  ObsTempDir dir;
  EventWriter a(dir.str()), b(dir.str());
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(train::find_event_files(dir.str()).size(), 2u);
}

TEST(TensorBoard, EveryFlippedByteIsDetected) {
  ObsTempDir dir;
  const std::string path = write_sample(dir);
  const std::string good = read_file(path);
  const std::string bad_path = dir.file("corrupt.tfevents");
  for (size_t i = 0; i < good.size(); ++i) {
    std::string b = good;
    b[i] = static_cast<char>(b[i] ^ 0x20);
    std::ofstream(bad_path, std::ios::binary | std::ios::trunc) << b;
    SCOPED_TRACE("byte " + std::to_string(i));
    // The length CRC is checked before the length is used, so a corrupt length is a CRC error too.
    EXPECT_ERROR_CONTAINS(read_scalars(bad_path), ErrorKind::Value, "corrupt.tfevents", "CRC mismatch");
  }
}

TEST(TensorBoard, TruncationInsideARecordIsDetected) {
  ObsTempDir dir;
  const std::string path = write_sample(dir);
  const std::string good = read_file(path);
  // Record boundaries: a file cut exactly there is a valid shorter file (as for TensorFlow's reader).
  std::set<size_t> boundaries;
  for (size_t pos = 0; pos < good.size();) {
    boundaries.insert(pos);
    uint64_t n;
    std::memcpy(&n, good.data() + pos, 8);
    pos += 16 + n;
  }
  const std::string cut_path = dir.file("cut.tfevents");
  for (size_t len = 1; len < good.size(); ++len) {
    std::ofstream(cut_path, std::ios::binary | std::ios::trunc) << good.substr(0, len);
    SCOPED_TRACE("length " + std::to_string(len));
    if (boundaries.count(len)) {
      // The records that start before the cut, less the version record.
      const auto records = static_cast<size_t>(std::distance(boundaries.begin(), boundaries.find(len)));
      EXPECT_EQ(read_scalars(cut_path).size(), records - 1) << "a cut at a record boundary keeps the records before it";
    } else {
      EXPECT_ERROR_CONTAINS(read_scalars(cut_path), ErrorKind::Value, "cut.tfevents", "truncated");
    }
  }
  std::ofstream(cut_path, std::ios::binary | std::ios::trunc);
  EXPECT_ERROR_CONTAINS(read_scalars(cut_path), ErrorKind::Value, "empty file");
  EXPECT_ERROR_CONTAINS(read_scalars(dir.file("missing")), ErrorKind::Runtime, "cannot open");
}

TEST(TensorBoard, MetricsLinesBecomeTaggedScalars) {
  ObsTempDir dir;
  std::string path;
  {
    EventWriter w(dir.str());
    path = w.path();
    w.add_metrics({{"step", 20}, {"loss", 3.5}, {"lr", 0.001}, {"logit_scale", 14.25}, {"elapsed_s", 9.0},
                   {"steps_this_session", 20}}, 5.0);
    w.add_metrics({{"split", "val"}, {"step", 20}, {"i2t_r1", 0.25}, {"rsum", 1.5}, {"num_images", 500}}, 6.0);
    EXPECT_ERROR_CONTAINS(w.add_metrics({{"loss", 1.0}}), ErrorKind::Value, "integer \"step\"");
  }
  const auto s = read_scalars(path);
  std::map<std::string, float> got;
  for (const auto& e : s) {
    EXPECT_EQ(e.step, 20) << e.tag;
    got[e.tag] = e.value;
  }
  const std::map<std::string, float> want = {{"train/loss", 3.5f},   {"train/lr", 0.001f}, {"train/logit_scale", 14.25f},
                                             {"val/i2t_r1", 0.25f}, {"val/rsum", 1.5f}};
  EXPECT_EQ(got, want);  // bookkeeping fields and the split string are not scalars
}

}  // namespace
}  // namespace mm
