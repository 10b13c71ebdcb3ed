#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/crc32c.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"

namespace mm::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOp = "checkpoint";

// fsync of a file or directory: without it a rename can reach the disk before the data it names.
void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  MM_CHECK(fd >= 0, Runtime, kOp, "cannot open ", p.string(), " to sync it: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  MM_CHECK(rc == 0, Runtime, kOp, "fsync of ", p.string(), " failed: ", std::strerror(errno));
}

void write_file(const fs::path& p, const std::string& bytes) {
  {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    MM_CHECK(f.good(), Runtime, kOp, "cannot create ", p.string());
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    MM_CHECK(f.good(), Runtime, kOp, "write error on ", p.string(), " (disk full?)");
  }
  fsync_path(p, false);
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  MM_CHECK(f.good(), Runtime, kOp, "cannot read ", p.string());
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The CRC that state.pb carries: of the message serialized with its own CRC field zero.
uint32_t state_crc(ckpt::State s) {
  s.set_state_crc32c(0);
  std::string bytes;
  MM_CHECK(s.SerializeToString(&bytes), Runtime, kOp, "cannot serialize state.pb");
  return crc32c(bytes.data(), bytes.size());
}

// Parses "step-0001234" → 1234; -1 for any other name.
int64_t step_of(const std::string& name) {
  if (name.size() < 6 || name.compare(0, 5, "step-") != 0) return -1;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

}  // namespace

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%07lld", static_cast<long long>(step));
  return buf;
}

std::string save_checkpoint(const std::string& run_dir, CheckpointData data) {
  const fs::path run(run_dir);
  fs::create_directories(run);
  const std::string name = checkpoint_name(data.state.step());
  const fs::path tmp = run / ("." + name + ".tmp"), final_dir = run / name;
  // A directory left by a process killed while writing is incomplete by construction: discard it.
  for (const auto& e : fs::directory_iterator(run)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 4 && n[0] == '.' && n.compare(n.size() - 4, 4, ".tmp") == 0) fs::remove_all(e.path());
  }
  fs::create_directories(tmp);

  ckpt::State& st = data.state;
  st.clear_files();
  auto record = [&](const std::string& file) {
    ckpt::FileChecksum* f = st.add_files();
    f->set_name(file);
    f->set_size(fs::file_size(tmp / file));
    f->set_crc32c(crc32c_file((tmp / file).string()));  // of the bytes as read back from disk
  };
  safetensors::save((tmp / "model.safetensors").string(), data.model);  // fsyncs itself
  record("model.safetensors");
  safetensors::save((tmp / "optimizer.safetensors").string(),
                    nn::NamedTensors(data.optimizer.begin(), data.optimizer.end()));
  record("optimizer.safetensors");
  for (const auto& [file, contents] : data.text_files) {
    MM_CHECK(file.find('/') == std::string::npos && file != "state.pb", Value, kOp, "bad file name '", file, "'");
    write_file(tmp / file, contents);
    record(file);
  }
  st.set_state_crc32c(state_crc(st));
  std::string bytes;
  MM_CHECK(st.SerializeToString(&bytes), Runtime, kOp, "cannot serialize state.pb");
  write_file(tmp / "state.pb", bytes);
  fsync_path(tmp, true);

  // Publish: an older checkpoint of the same step is moved aside first (rename cannot replace a
  // non-empty directory), then removed once the new one is in place.
  const fs::path old = run / ("." + name + ".old");
  if (fs::exists(final_dir)) {
    fs::remove_all(old);
    fs::rename(final_dir, old);
  }
  fs::rename(tmp, final_dir);
  fsync_path(run, true);
  fs::remove_all(old);

  const fs::path link_tmp = run / ".latest.tmp";
  fs::remove(link_tmp);
  fs::create_directory_symlink(name, link_tmp);
  fs::rename(link_tmp, run / "latest");
  fsync_path(run, true);
  return final_dir.string();
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  if (!fs::is_directory(run_dir)) return out;
  for (const auto& e : fs::directory_iterator(run_dir)) {
    const int64_t s = step_of(e.path().filename().string());
    if (s >= 0 && e.is_directory() && !e.is_symlink()) out.emplace_back(s, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void prune_checkpoints(const std::string& run_dir, int64_t keep_last, int64_t keep_step) {
  if (keep_last <= 0) return;
  std::error_code ec;
  const fs::path latest = fs::read_symlink(fs::path(run_dir) / "latest", ec);
  const auto all = list_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) {
    const auto& [step, path] = all[i];
    if (step == keep_step || (!ec && fs::path(path).filename() == latest.filename())) continue;
    fs::remove_all(path);
  }
}

ckpt::State verify_checkpoint(const std::string& dir) {
  const fs::path d(dir);
  MM_CHECK(fs::is_directory(d), Value, kOp, dir, " is not a checkpoint directory");
  MM_CHECK(fs::exists(d / "state.pb"), Runtime, kOp, dir, ": state.pb is missing (incomplete checkpoint)");
  const std::string bytes = read_file(d / "state.pb");
  ckpt::State st;
  MM_CHECK(st.ParseFromString(bytes), Runtime, kOp, dir, "/state.pb does not parse (damaged)");
  MM_CHECK(st.state_crc32c() != 0 && state_crc(st) == st.state_crc32c(), Runtime, kOp, dir,
           "/state.pb fails its own CRC-32C (damaged)");
  for (const ckpt::FileChecksum& f : st.files()) {
    const fs::path p = d / f.name();
    MM_CHECK(fs::exists(p), Runtime, kOp, dir, ": ", f.name(), " is missing");
    const uint64_t size = fs::file_size(p);
    MM_CHECK(size == f.size(), Runtime, kOp, p.string(), " has ", size, " bytes, state.pb recorded ", f.size(),
             " (truncated or replaced)");
    MM_CHECK(crc32c_file(p.string()) == f.crc32c(), Runtime, kOp, p.string(),
             " fails its CRC-32C check (the file is damaged)");
  }
  return st;
}

std::string latest_valid_checkpoint(const std::string& run_dir, std::vector<std::string>* warnings) {
  auto all = list_checkpoints(run_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      verify_checkpoint(it->second);
      return it->second;
    } catch (const Error& e) {
      if (warnings) warnings->push_back(std::string("skipping checkpoint: ").append(e.what()));
    }
  }
  return "";
}

}  // namespace mm::train
