#include "train/tensorboard.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "runtime/crc32c.h"
#include "runtime/error.h"

namespace mm::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOp = "tensorboard";

// ---- a tiny protobuf encoder/decoder for the fields of tensorflow.Event we use ----------------------
//   Event:         wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5 (Summary)
//   Summary:       value = 1 (repeated Summary.Value)
//   Summary.Value: tag = 1 (string), simple_value = 2 (float)
// Wire types: 0 varint, 1 fixed64 (little-endian), 2 length-delimited, 5 fixed32 (little-endian).
namespace pb {

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, uint32_t field, Wire wire) { put_varint(out, (uint64_t{field} << 3) | wire); }
template <typename T>
void put_le(std::string& out, T v) {  // x86 and aarch64 are little-endian, as the format wants
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}
void put_double(std::string& out, uint32_t field, double v) {
  put_key(out, field, kFixed64);
  put_le(out, v);
}
void put_float(std::string& out, uint32_t field, float v) {
  put_key(out, field, kFixed32);
  put_le(out, v);
}
// int64 (not sint64): negative values are their two's complement, ten bytes.
void put_int64(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}
void put_bytes(std::string& out, uint32_t field, const std::string& v) {
  put_key(out, field, kBytes);
  put_varint(out, v.size());
  out.append(v);
}

// Reads one message's fields; `where` names the file and record in errors.
struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  const std::string& where;

  bool done() const { return p >= end; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      MM_CHECK(p < end, Value, kOp, where, ": protobuf varint runs past the end of its message");
      const unsigned char b = *p++;
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return v;
    }
    fail(ErrorKind::Value, kOp, where, ": protobuf varint longer than 10 bytes");
  }
  template <typename T>
  T fixed() {
    MM_CHECK(end - p >= static_cast<std::ptrdiff_t>(sizeof(T)), Value, kOp, where, ": protobuf fixed",
             8 * sizeof(T), " field runs past the end of its message");
    T v;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
  Reader sub() {  // a length-delimited field's contents
    const uint64_t n = varint();
    MM_CHECK(n <= static_cast<uint64_t>(end - p), Value, kOp, where, ": protobuf field of ", n,
             " bytes runs past the end of its message");
    Reader r{p, p + n, where};
    p += n;
    return r;
  }
  std::string bytes() {
    Reader r = sub();
    return std::string(reinterpret_cast<const char*>(r.p), static_cast<size_t>(r.end - r.p));
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case kVarint: varint(); return;
      case kFixed64: fixed<uint64_t>(); return;
      case kBytes: sub(); return;
      case kFixed32: fixed<uint32_t>(); return;
      default: fail(ErrorKind::Value, kOp, where, ": unsupported protobuf wire type ", wire);
    }
  }
};

}  // namespace pb

std::string summary_value(const std::string& tag, float value) {
  std::string v;
  pb::put_bytes(v, 1, tag);      // Summary.Value.tag
  pb::put_float(v, 2, value);    // Summary.Value.simple_value
  std::string summary;
  pb::put_bytes(summary, 1, v);  // Summary.value
  return summary;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// metrics.jsonl fields that are not curves (tools/check_tensorboard.py keeps the same list).
bool is_bookkeeping(const std::string& key) {
  for (const char* k : {"step", "elapsed_s", "steps_this_session", "num_images", "num_texts", "images_without_captions"})
    if (key == k) return true;
  return false;
}

}  // namespace

EventWriter::EventWriter(const std::string& run_dir) : file_(nullptr, &std::fclose) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  MM_CHECK(!ec, Runtime, kOp, "cannot create the run directory ", run_dir, ": ", ec.message());
  const double t0 = now_seconds();
  std::string base = "events.out.tfevents.";
  base.append(std::to_string(static_cast<int64_t>(t0))).append(".").append(hostname());
  for (int n = 0; !file_; ++n) {
    path_ = (fs::path(run_dir) / (n == 0 ? base : base + "." + std::to_string(n))).string();
    // "x": fail rather than overwrite another writer's file.
    file_.reset(std::fopen(path_.c_str(), "wbx"));
    MM_CHECK(file_ || (errno == EEXIST && n < 1000), Runtime, kOp, "cannot create ", path_, ": ",
             std::strerror(errno));
  }
  std::string event;
  pb::put_double(event, 1, t0);                   // Event.wall_time
  pb::put_bytes(event, 3, "brain.Event:2");       // Event.file_version
  write_record(event);
  flush();
}

EventWriter::~EventWriter() = default;  // fclose flushes

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  std::string event;
  pb::put_double(event, 1, wall_time < 0 ? now_seconds() : wall_time);  // Event.wall_time
  pb::put_int64(event, 2, step);                                         // Event.step
  pb::put_bytes(event, 5, summary_value(tag, static_cast<float>(value))); // Event.summary
  write_record(event);
  flush();
}

void EventWriter::add_metrics(const nlohmann::json& line, double wall_time) {
  MM_CHECK(line.is_object() && line.contains("step") && line["step"].is_number_integer(), Value, kOp,
           "a metrics line needs an integer \"step\": ", line.dump());
  const int64_t step = line["step"].get<int64_t>();
  const std::string prefix = line.contains("split") && line["split"].is_string()
                                 ? line["split"].get<std::string>() : std::string("train");
  if (wall_time < 0) wall_time = now_seconds();
  for (const auto& [key, v] : line.items()) {
    if (!v.is_number() || is_bookkeeping(key)) continue;
    add_scalar(prefix + "/" + key, v.get<double>(), step, wall_time);
  }
}

void EventWriter::flush() {
  MM_CHECK(std::fflush(file_.get()) == 0, Runtime, kOp, "cannot write ", path_, ": ", std::strerror(errno));
}

void EventWriter::write_record(const std::string& data) {
  const uint64_t n = data.size();
  char header[12];
  std::memcpy(header, &n, 8);
  const uint32_t len_crc = masked_crc32c(header, 8);
  std::memcpy(header + 8, &len_crc, 4);
  const uint32_t data_crc = masked_crc32c(data.data(), data.size());
  const bool ok = std::fwrite(header, 1, 12, file_.get()) == 12 &&
                  std::fwrite(data.data(), 1, data.size(), file_.get()) == data.size() &&
                  std::fwrite(&data_crc, 1, 4, file_.get()) == 4;
  MM_CHECK(ok, Runtime, kOp, "cannot write ", path_, ": ", std::strerror(errno));
}

std::vector<ScalarEvent> read_scalars(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  MM_CHECK(f, Runtime, kOp, "cannot open ", path);
  const std::string buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto* base = reinterpret_cast<const unsigned char*>(buf.data());
  std::vector<ScalarEvent> out;
  size_t pos = 0;
  for (int64_t record = 0; pos < buf.size(); ++record) {
    const std::string where = path + ": record " + std::to_string(record) + " at byte " + std::to_string(pos);
    MM_CHECK(buf.size() - pos >= 12, Value, kOp, where, ": truncated record header (", buf.size() - pos,
             " of 12 bytes)");
    uint64_t n;
    uint32_t len_crc, data_crc;
    std::memcpy(&n, base + pos, 8);
    std::memcpy(&len_crc, base + pos + 8, 4);
    const uint32_t want_len_crc = masked_crc32c(base + pos, 8);
    MM_CHECK(len_crc == want_len_crc, Value, kOp, where, ": length CRC mismatch (stored ", len_crc,
             ", computed ", want_len_crc, "): the length field is corrupt");
    MM_CHECK(n <= buf.size() - pos - 12 && buf.size() - pos - 12 - n >= 4, Value, kOp, where,
             ": truncated record: ", n, " data bytes + 4 CRC bytes announced, ", buf.size() - pos - 12, " left");
    const unsigned char* data = base + pos + 12;
    std::memcpy(&data_crc, data + n, 4);
    const uint32_t want_data_crc = masked_crc32c(data, n);
    MM_CHECK(data_crc == want_data_crc, Value, kOp, where, ": data CRC mismatch (stored ", data_crc,
             ", computed ", want_data_crc, "): the record is corrupt");
    pos += 12 + n + 4;

    pb::Reader event{data, data + n, where};
    double wall_time = 0;
    int64_t step = 0;
    std::string file_version;
    std::vector<std::pair<std::string, float>> values;
    while (!event.done()) {
      const uint64_t key = event.varint();
      const auto field = static_cast<uint32_t>(key >> 3), wire = static_cast<uint32_t>(key & 7);
      if (field == 1 && wire == pb::kFixed64) {
        wall_time = event.fixed<double>();
      } else if (field == 2 && wire == pb::kVarint) {
        step = static_cast<int64_t>(event.varint());
      } else if (field == 3 && wire == pb::kBytes) {
        file_version = event.bytes();
      } else if (field == 5 && wire == pb::kBytes) {
        pb::Reader summary = event.sub();
        while (!summary.done()) {
          const uint64_t skey = summary.varint();
          if (skey != ((1u << 3) | pb::kBytes)) {
            summary.skip(static_cast<uint32_t>(skey & 7));
            continue;
          }
          pb::Reader value = summary.sub();
          std::string tag;
          bool has_simple = false;
          float simple = 0;
          while (!value.done()) {
            const uint64_t vkey = value.varint();
            if (vkey == ((1u << 3) | pb::kBytes)) {
              tag = value.bytes();
            } else if (vkey == ((2u << 3) | pb::kFixed32)) {
              simple = value.fixed<float>();
              has_simple = true;
            } else {
              value.skip(static_cast<uint32_t>(vkey & 7));
            }
          }
          if (has_simple) values.emplace_back(tag, simple);
        }
      } else {
        event.skip(wire);
      }
    }
    if (record == 0) {
      MM_CHECK(file_version.rfind("brain.Event:", 0) == 0, Value, kOp, where,
               ": the first event is not a file_version \"brain.Event:N\" (got \"", file_version, "\")");
    }
    for (auto& [tag, v] : values) out.push_back({tag, step, v, wall_time});
  }
  MM_CHECK(!buf.empty(), Value, kOp, path, ": empty file (no file_version record)");
  return out;
}

std::vector<std::string> find_event_files(const std::string& run_dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    if (e.is_regular_file() && e.path().filename().string().find("tfevents") != std::string::npos)
      files.push_back(e.path().string());
  }
  MM_CHECK(!ec, Runtime, kOp, "cannot list ", run_dir, ": ", ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace mm::train
