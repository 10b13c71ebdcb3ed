// A fresh directory under the system temp dir, removed with everything in it at the end (the
// observability tests: event files, train.log, report run directories).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace mm::testing {

class ObsTempDir {
 public:
  ObsTempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mm_obs_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ObsTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ObsTempDir(const ObsTempDir&) = delete;
  ObsTempDir& operator=(const ObsTempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace mm::testing
