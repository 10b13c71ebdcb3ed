// TensorBoard event files (SPEC §7 "Observability"): scalar summaries that `tensorboard --logdir RUN`
// loads, written without TensorFlow or a .proto for it.
//
// FILE FORMAT. `events.out.tfevents.<unix seconds>.<hostname>` is a TFRecord file: a sequence of records
//     uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
// (runtime/crc32c.h has the mask). Each record's data is a serialized tensorflow.Event protobuf; the
// first carries file_version "brain.Event:2", the rest one Summary each with a single
// Summary.Value{tag, simple_value}. The few protobuf fields used are encoded by hand in tensorboard.cpp.
//
// EventWriter writes each record and flushes the file before add_scalar returns, so a crashed or
// interrupted run keeps every scalar logged before it, and TensorBoard shows a live run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mm::train {

class EventWriter {
 public:
  // Creates run_dir if missing and a new event file in it. When a file of that name exists (two writers
  // started within one second), ".1", ".2", ... is appended: TensorBoard reads every file whose name
  // contains "tfevents", so a resumed run adds a file instead of overwriting the first.
  explicit EventWriter(const std::string& run_dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // One scalar. wall_time in seconds since the Unix epoch; negative: now. TensorBoard stores float32.
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = -1);
  // Every numeric field of one metrics.jsonl line (train/trainer.cpp's log lines): a training line
  // ({"step", "loss", "lr", ...}) gives "train/<field>"; an evaluation line ({"split": "val", "step",
  // "i2t_r1", ...}) gives "<split>/<field>". "step" is the step, not a scalar. Skipped: non-numeric
  // fields and bookkeeping that is no curve — elapsed_s (TensorBoard has a relative-time axis),
  // steps_this_session, num_images, num_texts, images_without_captions. A line without an integer
  // "step" is an mm::Error.
  void add_metrics(const nlohmann::json& line, double wall_time = -1);
  // Writes buffered bytes to the OS (add_scalar already does).
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  std::string path_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_;
};

struct ScalarEvent {
  std::string tag;
  int64_t step = 0;
  float value = 0;  // TensorBoard's simple_value is a float32
  double wall_time = 0;
};

// Every scalar of an event file, in file order. Checks the framing (a truncated record), both CRCs of
// every record, that the first event is a file_version "brain.Event:*", and the protobuf encoding;
// each failure is an mm::Error naming the file, the record and its byte offset. Events other than
// simple-value summaries are skipped.
std::vector<ScalarEvent> read_scalars(const std::string& path);

// The event files (names containing "tfevents") of a run directory, sorted by name.
std::vector<std::string> find_event_files(const std::string& run_dir);

}  // namespace mm::train
